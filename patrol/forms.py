"""Forms for patrol work: a visit (one answer per resident), a safety inspection, a residence permit."""

from django import forms
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin, DateInput

from .models import Inspection, VisitOutcomeChoices


class VisitForm(BootstrapFormMixin, forms.Form):
    """Date and note of a visit, plus an outcome (and a move-out date) for each current residence.

    The per-resident fields are named ``outcome_<residence id>`` and ``moved_out_on_<residence id>``,
    the keys ``visit_record`` uses for its own errors, so a service error lands on the right resident.
    The rules about the dates live in ``visit_check``, which the API calls too.
    """

    visited_on = forms.DateField(label=_("Date of visit"), widget=DateInput(), initial=timezone.localdate)
    note = forms.CharField(label=_("Note"), required=False, max_length=2000,
                           widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args, residences, **kwargs):
        super().__init__(*args, **kwargs)
        self.residences = list(residences)
        for residence in self.residences:
            name = residence.person.name
            self.fields[f"outcome_{residence.pk}"] = forms.ChoiceField(
                label=_("What did you find for %(name)s?") % {"name": name},
                choices=VisitOutcomeChoices.choices, widget=forms.RadioSelect,
                error_messages={"required": _("%(name)s: choose confirmed, moved out or not found.")
                                % {"name": name}},
            )
            self.fields[f"moved_out_on_{residence.pk}"] = forms.DateField(
                label=_("Moved out on"), required=False, widget=DateInput(attrs={"class": "form-control"}))

    def rows(self):
        """(residence, outcome field, moved-out field) for each resident, in the order given."""
        return [(residence, self[f"outcome_{residence.pk}"], self[f"moved_out_on_{residence.pk}"])
                for residence in self.residences]

    def outcomes(self) -> dict:
        """The ``outcomes`` argument of ``visit_record``."""
        return {residence.pk: (self.cleaned_data[f"outcome_{residence.pk}"],
                               self.cleaned_data.get(f"moved_out_on_{residence.pk}"))
                for residence in self.residences}


PASS_FAIL = [("pass", _("Pass")), ("fail", _("Fail"))]


class InspectionForm(BootstrapFormMixin, forms.Form):
    """The safety checklist: pass or fail for every item, labelled as on the model."""

    inspected_on = forms.DateField(label=_("Date of inspection"), widget=DateInput(), initial=timezone.localdate)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for item in Inspection.CHECKLIST:
            label = capfirst(Inspection._meta.get_field(item).verbose_name)
            self.fields[item] = forms.ChoiceField(
                label=label, choices=PASS_FAIL, widget=forms.RadioSelect,
                error_messages={"required": _("%(item)s: choose pass or fail.") % {"item": label}})
        # Notes last, after the checklist.
        self.fields["notes"] = forms.CharField(label=_("Notes"), required=False, max_length=4000,
                                               widget=forms.Textarea(attrs={"rows": 4, "class": "form-control"}))

    def checklist(self):
        return [self[item] for item in Inspection.CHECKLIST]

    def items(self) -> dict:
        return {item: self.cleaned_data[item] == "pass" for item in Inspection.CHECKLIST}


class PermitIssueForm(BootstrapFormMixin, forms.Form):
    number = forms.CharField(label=_("Permit number"), max_length=32,
                             widget=forms.TextInput(attrs={"autocomplete": "off", "spellcheck": "false"}))
    issued_on = forms.DateField(label=_("Issued on"), widget=DateInput(), initial=timezone.localdate)


class PermitEndorseForm(forms.Form):
    """The expiry the officer saw: a second click (or a stale page) must not extend the permit twice."""

    expires_on = forms.DateField()
