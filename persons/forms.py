from django import forms
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin, DateInput, NamedErrorsMixin

from .choices import DocumentTypeChoices, SexChoices
from .services import person_correctable_fields


class IdentityDocumentFields(forms.Form):
    """An identity document as the forms of the portal and the guest register ask for it: the type (a resident
    ID card unless chosen otherwise), the number typed as printed, and for a passport its country."""

    document_type = forms.ChoiceField(label=_("Document type"), choices=DocumentTypeChoices.choices,
                                      initial=DocumentTypeChoices.RESIDENT_ID)
    document_number = forms.CharField(
        label=_("Document number"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}))
    document_country = forms.CharField(label=_("Issuing country"), required=False, max_length=3,
                                       help_text=_("Passports only: three-letter code, e.g. KOR."))


class UnmaskForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. checking the card at the desk")}),
    )


class PersonCorrectForm(NamedErrorsMixin, BootstrapFormMixin, forms.Form):
    """Correct a person's details. Posts back the version it was opened at (``person_correct`` refuses a stale
    one) and a required reason, kept in the audit trail. The birth date and sex are offered only for a
    document that does not encode them (``person_correctable_fields``)."""

    name = forms.CharField(label=_("Name"), max_length=100)
    sex = forms.ChoiceField(label=_("Sex"), choices=SexChoices.choices)
    birth_date = forms.DateField(label=_("Date of birth"), widget=DateInput())
    phone = forms.CharField(label=_("Phone"), max_length=20, required=False,
                            widget=forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}))
    hukou_address = forms.CharField(label=_("Place of household registration"), max_length=200, required=False)
    occupation = forms.CharField(label=_("Occupation"), max_length=100, required=False)
    reason = forms.CharField(
        label=_("Reason for the correction"), max_length=500,
        help_text=_("Kept in the audit trail with the names of the fields you changed (not their values)."),
        widget=forms.TextInput(attrs={"placeholder": _("e.g. the resident brought a new phone number"),
                                      "autocomplete": "off"}))
    version = forms.IntegerField(widget=forms.HiddenInput())

    def __init__(self, *args, person, **kwargs):
        self.person = person
        self.correctable = person_correctable_fields(person)
        initial = {name: getattr(person, name) for name in self.correctable}
        kwargs.setdefault("initial", {}).update({**initial, "version": person.version})
        super().__init__(*args, **kwargs)
        for name in ("birth_date", "sex"):
            if name not in self.correctable:
                del self.fields[name]

    def changes(self) -> dict:
        return {name: self.cleaned_data[name] for name in self.correctable}


class PersonReplaceDocumentForm(NamedErrorsMixin, BootstrapFormMixin, forms.Form):
    """A new identity document for the same person; validated by ``person_replace_document``."""

    document_type = forms.ChoiceField(label=_("Document type"), choices=DocumentTypeChoices.choices)
    document_country = forms.CharField(label=_("Issuing country"), required=False, max_length=3,
                                       help_text=_("Passports only: three-letter code, e.g. KOR."))
    document_number = forms.CharField(
        label=_("New document number"), max_length=32,
        widget=forms.TextInput(attrs={"autocomplete": "off", "inputmode": "text", "autocapitalize": "characters",
                                      "spellcheck": "false"}))
    reason = forms.CharField(
        label=_("Reason for the replacement"), max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. residence permit exchanged for an ID card"),
                                      "autocomplete": "off"}))
    version = forms.IntegerField(widget=forms.HiddenInput())

    def __init__(self, *args, person, **kwargs):
        self.person = person
        kwargs.setdefault("initial", {}).update({"document_type": person.document_type, "version": person.version})
        super().__init__(*args, **kwargs)
