"""Forms for properties, units and landlords. The rules live in the models' ``clean()``; ModelForm puts
their errors on the right field. Edit forms carry the row's ``version`` (optimistic concurrency)."""

from django import forms
from django.utils.translation import gettext_lazy as _

from persons.models import Employer
from registry.forms import BootstrapFormMixin, DateInput, NamedErrorsMixin, StationFormMixin, VersionedFormMixin
from registry.models import Community
from registry.scoping import scoped_choices

from .models import Landlord, Property, Unit


class PropertyForm(NamedErrorsMixin, VersionedFormMixin, BootstrapFormMixin, forms.ModelForm):
    class Meta:
        model = Property
        fields = ["address", "property_type", "community", "landlord", "employer", "agreement_signed_on"]
        widgets = {"agreement_signed_on": DateInput()}
        help_texts = {
            "landlord": _("Who lets it. Leave empty for an employer dormitory or an owner-occupied home."),
            "employer": _("For an employer dormitory: the employer that houses its workers here."),
            "agreement_signed_on": _("The date the owner signed the responsibility agreement, if signed."),
        }

    # Fields whose values the edit form writes; the station follows the community.
    save_fields = [*Meta.fields, "station"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["address"].widget.attrs.update({"autocomplete": "off"})
        self.fields["community"].queryset = scoped_choices(Community, user).order_by("name")
        # Only the columns the options show: the document number is never decrypted for a list of choices.
        landlords = Landlord.objects.visible_to(user).only("id", "name", "phone").order_by("name_pinyin", "id")
        self.fields["landlord"].queryset = landlords
        self.fields["landlord"].label_from_instance = lambda landlord: f"{landlord.name} · {landlord.phone}"
        self.fields["employer"].queryset = Employer.objects.visible_to(user).only("id", "name").order_by("name")
        self.fields["community"].empty_label = _("Choose a community")
        self.fields["landlord"].empty_label = _("No landlord")
        self.fields["employer"].empty_label = _("No employer")
        self.add_version_field()


class UnitForm(NamedErrorsMixin, VersionedFormMixin, BootstrapFormMixin, forms.ModelForm):
    capacity = forms.IntegerField(
        label=_("Capacity"), min_value=1, max_value=32767,
        help_text=_("How many people may live here."),
        error_messages={"min_value": _("Capacity: at least 1.")},
        widget=forms.NumberInput(attrs={"min": 1, "inputmode": "numeric"}),
    )

    class Meta:
        model = Unit
        fields = ["label", "capacity"]
        help_texts = {
            "label": _("Room or flat number as written on the door, e.g. 302室."),
        }

    save_fields = Meta.fields

    def __init__(self, *args, user=None, **kwargs):
        super().__init__(*args, **kwargs)
        self.add_version_field()

    def clean_label(self):
        label = self.cleaned_data["label"].strip()
        # The unique (property, label) constraint is skipped by ModelForm because ``property`` is not
        # a form field; check it here so the message lands on the label.
        others = Unit.objects.filter(property_id=self.instance.property_id, label=label)
        if self.instance.pk:
            others = others.exclude(pk=self.instance.pk)
        if others.exists():
            raise forms.ValidationError(_("Unit: this property already has a unit with this label."))
        return label


class LandlordForm(NamedErrorsMixin, VersionedFormMixin, StationFormMixin, BootstrapFormMixin,
                   forms.ModelForm):
    """A landlord's identity and contact. On edit the document number is never shown: it stays as it is
    unless a new one is typed."""

    class Meta:
        model = Landlord
        fields = ["name", "document_type", "document_country", "document_number", "phone", "address", "station"]
        widgets = {
            "document_number": forms.TextInput(attrs={
                "autocomplete": "off", "autocapitalize": "characters", "spellcheck": "false"}),
            "phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "name": _("As on the document; '·' between parts of transliterated names."),
        }

    save_fields = ["name", "name_pinyin", "name_initials", "document_type", "document_country", "document_number",
                   "document_hash", "document_head_hash", "document_tail_hash", "phone", "address"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_station(user)
        if self.instance.pk:
            self.initial.pop("document_number", None)
            field = self.fields["document_number"]
            field.required = False
            field.widget.attrs["placeholder"] = self.instance.document_masked
            field.help_text = _("Now %(masked)s. Leave empty to keep it; type the full number only to correct it.") % {
                "masked": self.instance.document_masked}
        self.add_version_field()

    def clean_document_number(self):
        value = self.cleaned_data.get("document_number", "").strip()
        if value or not self.instance.pk:
            return value
        changed = {"document_type", "document_country"} & set(self.changed_data)
        if changed:
            raise forms.ValidationError(
                _("Document number: type the full number again when you change the document type or country."))
        return self.instance.document_number
