"""The operator's check-in form: one screen on a phone, checked as the registry checks every document."""

import datetime

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from persons.choices import DocumentTypeChoices
from persons.forms import IdentityDocumentFields
from persons.validators import validate_country_code, validate_document, validate_person_name
from registry.forms import BootstrapFormMixin


class CheckInForm(BootstrapFormMixin, IdentityDocumentFields):
    name = forms.CharField(label=_("Guest's name"), max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    room = forms.CharField(label=_("Room"), max_length=20, widget=forms.TextInput(attrs={"autocomplete": "off"}))
    nights = forms.IntegerField(label=_("Nights expected"), min_value=1, max_value=365, initial=1,
                                widget=forms.NumberInput(attrs={"inputmode": "numeric"}))
    arrived_at = forms.DateTimeField(
        label=_("Arrived at"), required=False, widget=forms.DateTimeInput(attrs={"type": "datetime-local"},
                                                                         format="%Y-%m-%dT%H:%M"),
        help_text=_("Leave empty if the guest has just arrived. Check-ins recorded more than an hour after arrival "
                    "are marked late."))

    def __init__(self, *args, rooms=(), **kwargs):
        super().__init__(*args, **kwargs)
        if rooms:
            self.fields["room"].widget.attrs["list"] = "rooms"
        self.rooms = list(rooms)

    def clean(self):
        """Every field at once, so one round trip shows every problem."""
        data = super().clean()
        kind = data.get("document_type")
        if kind and data.get("document_number"):
            try:
                data["document_number"] = validate_document(kind, data["document_number"])
            except ValidationError as exc:
                self.add_error("document_number", exc)
        if kind == DocumentTypeChoices.PASSPORT:
            try:
                data["document_country"] = validate_country_code(data.get("document_country") or "")
            except ValidationError as exc:
                self.add_error("document_country", exc)
        else:
            data["document_country"] = ""
        if data.get("name"):
            try:
                data["name"] = validate_person_name(data["name"])
            except ValidationError as exc:
                self.add_error("name", exc)
        arrived = data.get("arrived_at")
        if arrived and arrived > timezone.now() + datetime.timedelta(minutes=5):
            self.add_error("arrived_at", _("Arrived at: this time is in the future."))
        return data
