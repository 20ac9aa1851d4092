from django import forms
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin


class UnmaskForm(BootstrapFormMixin, forms.Form):
    reason = forms.CharField(
        label=_("Reason"), max_length=500,
        widget=forms.TextInput(attrs={"placeholder": _("e.g. checking the card at the desk")}),
    )
