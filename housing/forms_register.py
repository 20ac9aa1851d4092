"""The guided registration's forms: the document first, then the person (if new), then where they live."""

from django import forms
from django.core.exceptions import ValidationError
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from persons.choices import DocumentTypeChoices, SexChoices
from persons.models import Employer, Person
from persons.validators import (
    document_birth_date,
    document_sex,
    normalize_phone,
    validate_country_code,
    validate_document,
    validate_person_name,
)
from registry.forms import BootstrapFormMixin, DateInput, NamedModelChoiceField
from registry.models import Community

from .models import Property, ResidenceReasonChoices, Unit
from .services import person_check_duplicate


class DocumentLookupForm(BootstrapFormMixin, forms.Form):
    """Step one of registration: the document, checked before anything else is asked."""

    document_type = forms.ChoiceField(label=_("Document type"), choices=DocumentTypeChoices.choices,
                                      initial=DocumentTypeChoices.RESIDENT_ID)
    document_country = forms.CharField(label=_("Issuing country"), required=False, max_length=3,
                                       help_text=_("Passports only: three-letter code, e.g. KOR."))
    prefill_unit = forms.CharField(required=False, widget=forms.HiddenInput())
    document_number = forms.CharField(
        label=_("Document number"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autofocus": True, "inputmode": "text",
                                      "autocapitalize": "characters", "spellcheck": "false"}),
    )

    def clean(self):
        data = super().clean()
        doc_type = data.get("document_type")
        if doc_type and data.get("document_number"):
            try:
                data["document_number"] = validate_document(doc_type, data["document_number"])
            except ValidationError as exc:
                self.add_error("document_number", exc)
        if doc_type == DocumentTypeChoices.PASSPORT:
            try:
                data["document_country"] = validate_country_code(data.get("document_country", ""))
            except ValidationError as exc:
                self.add_error("document_country", exc)
        else:
            data["document_country"] = ""
        return data

    def document_key(self) -> str:
        d = self.cleaned_data
        return Person.document_key(d["document_type"], d["document_number"], d["document_country"])

    def derived_initial(self) -> dict:
        """Birth date and sex read from the number, to prefill the next step."""
        d = self.cleaned_data
        return {"birth_date": document_birth_date(d["document_type"], d["document_number"]),
                "sex": document_sex(d["document_type"], d["document_number"])}


class ResidenceFieldsMixin(forms.Form):
    community = forms.ModelChoiceField(label=_("Community"), queryset=Community.objects.none())
    property = forms.ModelChoiceField(label=_("Property"), queryset=Property.objects.none())
    unit = forms.ModelChoiceField(label=_("Unit"), queryset=Unit.objects.none())
    reason = forms.ChoiceField(label=_("Reason for living here"), choices=ResidenceReasonChoices.choices)
    start_date = forms.DateField(label=_("Moved in on"), widget=DateInput(), initial=timezone.localdate)
    employer = NamedModelChoiceField(label=_("Employer"), queryset=Employer.objects.none(), required=False,
                                      help_text=_("Optional: where the resident works."))

    def setup_places(self, user):
        """Offer only places inside the user's scope, narrowed by what is already chosen."""
        communities = Community.objects.filter(
            pk__in=Property.objects.visible_to(user).values("community_id")).order_by("name")
        self.fields["community"].queryset = communities
        self.fields["employer"].queryset = Employer.objects.visible_to(user).order_by("name")
        properties = Property.objects.visible_to(user).order_by("address")
        units = Unit.objects.visible_to(user).select_related("property")
        community = self.data.get("community") or self.initial.get("community")
        prop = self.data.get("property") or self.initial.get("property")
        if community and str(community).isdigit():
            properties = properties.filter(community_id=community)
        else:
            properties = properties.none()
        if prop and str(prop).isdigit():
            units = units.filter(property_id=prop)
        else:
            units = units.none()
        self.fields["property"].queryset = properties
        self.fields["unit"].queryset = units
        # Each choice loads the next list (htmx); without JavaScript the form still validates on submit.
        self.fields["community"].widget.attrs.update(
            {"hx-get": reverse("housing:picker_properties"), "hx-target": "#id_property", "hx-trigger": "change"})
        self.fields["property"].widget.attrs.update(
            {"hx-get": reverse("housing:picker_units"), "hx-target": "#id_unit", "hx-trigger": "change"})
        self.fields["unit"].widget.attrs.update(
            {"hx-get": reverse("housing:unit_occupancy"), "hx-target": "#occupancy", "hx-trigger": "change, load"})

    def clean_start_date(self):
        value = self.cleaned_data["start_date"]
        if value > timezone.localdate():
            raise ValidationError(_("Moved in on: cannot be in the future."))
        return value

    def clean(self):
        data = super().clean()
        unit, prop, community = data.get("unit"), data.get("property"), data.get("community")
        if unit and prop and unit.property_id != prop.pk:
            self.add_error("unit", _("Unit: choose a unit of the chosen property."))
        if prop and community and prop.community_id != community.pk:
            self.add_error("property", _("Property: choose a property in the chosen community."))
        return data


class RegisterPersonForm(ResidenceFieldsMixin, DocumentLookupForm):
    """Step two for a person the registry does not know yet: identity, then where they live."""

    name = forms.CharField(label=_("Name"), max_length=100,
                           help_text=_("As on the document; '·' between parts of transliterated names."))
    sex = forms.ChoiceField(label=_("Sex"), choices=SexChoices.choices)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    hukou_address = forms.CharField(label=_("Place of household registration"), max_length=200, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)
    confirm_not_duplicate = forms.BooleanField(
        label=_("I have checked: this is a different person"), required=False)

    field_order = ["document_type", "document_country", "document_number", "name", "sex", "birth_date", "phone",
                   "hukou_address", "occupation", "community", "property", "unit", "reason", "start_date",
                   "employer"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("document_type", "document_country", "document_number"):
            self.fields[name].widget = forms.HiddenInput()
        self.duplicates = []

    def clean_name(self):
        return validate_person_name(self.cleaned_data["name"])

    def clean_phone(self):
        value = self.cleaned_data["phone"]
        return normalize_phone(value) if value else ""

    def clean(self):
        data = super().clean()
        if not self.errors.get("document_number") and data.get("document_number"):
            derived = self.derived_initial()
            if derived["birth_date"] and data.get("birth_date") and data["birth_date"] != derived["birth_date"]:
                self.add_error("birth_date", _("Date of birth: does not agree with the ID number, which says "
                                               "%(date)s.") % {"date": derived["birth_date"].isoformat()})
            if derived["sex"] and data.get("sex") and data["sex"] != derived["sex"]:
                self.add_error("sex", _("Sex: does not agree with the ID number."))
        if not self.errors and data.get("name") and data.get("birth_date"):
            self.duplicates = person_check_duplicate(name=data["name"], birth_date=data["birth_date"],
                                                     document_hash=self.document_key())
            if self.duplicates and not data.get("confirm_not_duplicate"):
                self.add_error("confirm_not_duplicate", _(
                    "Possible duplicate: someone with the same name and date of birth is registered with "
                    "another document. Check, then tick the box to continue."))
        return data

    def identity(self) -> dict:
        d = self.cleaned_data
        return {k: d[k] for k in ("document_type", "document_country", "document_number", "name", "sex",
                                  "birth_date", "phone", "hukou_address", "occupation")}


class MoveHereForm(ResidenceFieldsMixin, DocumentLookupForm):
    """Step two for a person already known: only where they live now."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("document_type", "document_country", "document_number"):
            self.fields[name].widget = forms.HiddenInput()
