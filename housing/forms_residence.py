from django import forms
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin, DateInput

from .models import ResidenceEndReasonChoices, ResidenceReasonChoices


class ResidenceEndForm(BootstrapFormMixin, forms.Form):
    """Deregister: the person moved out on a date, for a reason (counted on the dashboards)."""

    end_date = forms.DateField(label=_("Moved out on"), widget=DateInput(), initial=timezone.localdate)
    end_reason = forms.ChoiceField(label=_("Why did they leave?"), choices=ResidenceEndReasonChoices.choices,
                                   widget=forms.RadioSelect)
    note = forms.CharField(label=_("Note"), required=False, max_length=500,
                           widget=forms.Textarea(attrs={"rows": 2}))
    version = forms.IntegerField(widget=forms.HiddenInput())


class ResidenceCorrectForm(BootstrapFormMixin, forms.Form):
    """Correct a registration's dates or reason; the reason for the correction is required."""

    start_date = forms.DateField(label=_("Moved in on"), widget=DateInput())
    end_date = forms.DateField(label=_("Moved out on"), widget=DateInput(), required=False)
    reason = forms.ChoiceField(label=_("Reason for living here"), choices=ResidenceReasonChoices.choices)
    reason_for_change = forms.CharField(label=_("Why is this being corrected?"), max_length=500)
    version = forms.IntegerField(widget=forms.HiddenInput())
