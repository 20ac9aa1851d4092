"""Forms of the portal (reports, confirmation, appeals) and of the review queue."""

from django import forms
from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from housing.models import ResidenceReasonChoices
from persons.choices import SexChoices
from persons.forms import IdentityDocumentFields
from persons.validators import normalize_phone, validate_document, validate_person_name
from registry.forms import BootstrapFormMixin, DateInput

from .models import RatingComponentChoices


class UnitChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return obj.label


class ArrivalForm(BootstrapFormMixin, IdentityDocumentFields):
    """Who moved in, where and when: the fields of a paper register, checked as they are typed."""

    name = forms.CharField(label=_("Tenant's name"), max_length=100,
                           widget=forms.TextInput(attrs={"autocomplete": "off"}))
    birth_date = forms.DateField(label=_("Date of birth"), required=False, widget=DateInput(),
                                 help_text=_("Passports only."))
    sex = forms.ChoiceField(label=_("Sex"), required=False, choices=[("", "—"), *SexChoices.choices],
                            help_text=_("Passports only."))
    phone = forms.CharField(label=_("Tenant's phone"), required=False, max_length=20,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    unit = UnitChoiceField(label=_("Unit"), queryset=None, empty_label=None)
    date = forms.DateField(label=_("Moved in on"), widget=DateInput(), initial=timezone.localdate)
    reason = forms.ChoiceField(label=_("Reason for living here"), choices=ResidenceReasonChoices.choices,
                               initial=ResidenceReasonChoices.WORK)

    def __init__(self, *args, units, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["unit"].queryset = units
        self.fields["date"].widget.attrs["max"] = timezone.localdate().isoformat()

    def clean(self):
        """Check every field at once, so that one round trip shows every problem."""
        data = super().clean()
        checks = [("document_number", lambda v: validate_document(data.get("document_type"), v)),
                  ("name", validate_person_name), ("phone", normalize_phone)]
        for field, check in checks:
            if data.get(field) and data.get("document_type"):
                try:
                    data[field] = check(data[field])
                except ValidationError as exc:
                    self.add_error(field, exc)
        if data.get("date") and data["date"] > timezone.localdate():
            self.add_error("date", _("Moved in: cannot be in the future."))
        return data


class ResidenceChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, obj):
        return f"{obj.unit.label} · {obj.person.name} · {obj.person.document_masked}"


class DepartureForm(BootstrapFormMixin, forms.Form):
    residence = ResidenceChoiceField(label=_("Who moved out"), queryset=None, empty_label=None)
    date = forms.DateField(label=_("Moved out on"), widget=DateInput(), initial=timezone.localdate)

    def __init__(self, *args, residences, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["residence"].queryset = residences
        self.fields["date"].widget.attrs["max"] = timezone.localdate().isoformat()


class OccupantsConfirmForm(BootstrapFormMixin, forms.Form):
    """One answer per current occupant: still lives here, or moved out on a date."""

    STILL = "still"
    LEFT = "left"

    def __init__(self, *args, residences, **kwargs):
        super().__init__(*args, **kwargs)
        self.residences = list(residences)
        for residence in self.residences:
            name = residence.person.name
            self.fields[f"answer_{residence.pk}"] = forms.ChoiceField(
                label=name, widget=forms.RadioSelect,
                choices=[(self.STILL, _("Still lives here")), (self.LEFT, _("Moved out"))],
                error_messages={"required": _("%(name)s: tick “still lives here” or “moved out”.") % {"name": name}})
            self.fields[f"left_on_{residence.pk}"] = forms.DateField(label=_("Moved out on"), required=False,
                                                                    widget=DateInput())

    def rows(self):
        return [(r, self[f"answer_{r.pk}"], self[f"left_on_{r.pk}"]) for r in self.residences]

    def clean(self):
        cleaned = super().clean()
        for residence in self.residences:
            if cleaned.get(f"answer_{residence.pk}") == self.LEFT and not cleaned.get(f"left_on_{residence.pk}") \
                    and f"left_on_{residence.pk}" not in self.errors:
                self.add_error(f"left_on_{residence.pk}", _("Moved out on: give the date %(name)s left.")
                               % {"name": residence.person.name})
        return cleaned

    def answers(self) -> tuple[set[int], dict]:
        still, left = set(), {}
        for residence in self.residences:
            if self.cleaned_data[f"answer_{residence.pk}"] == self.STILL:
                still.add(residence.pk)
            else:
                left[residence.pk] = self.cleaned_data[f"left_on_{residence.pk}"]
        return still, left


class AppealForm(BootstrapFormMixin, forms.Form):
    component = forms.ChoiceField(label=_("Which part of the rating"), choices=RatingComponentChoices.choices)
    comment = forms.CharField(label=_("What is wrong, and why"), max_length=2000,
                              widget=forms.Textarea(attrs={"rows": 3}))


class RejectForm(BootstrapFormMixin, forms.Form):
    rejection_reason = forms.CharField(
        label=_("Reason for rejection"), max_length=1000,
        help_text=_("The landlord or employer sees this reason."),
        widget=forms.Textarea(attrs={"rows": 2}))


class AppealAnswerForm(BootstrapFormMixin, forms.Form):
    decision = forms.ChoiceField(label=_("Decision"), widget=forms.RadioSelect,
                                 choices=[("accept", _("Accept: the rating is recalculated")),
                                          ("reject", _("Do not accept"))])
    answer = forms.CharField(label=_("Answer"), max_length=2000, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text=_("The landlord or employer sees this answer."))
