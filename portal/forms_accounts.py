"""Forms for portal accounts: the officer's invitation, and the invitee's password forms (Bootstrap-styled)."""

from django import forms
from django.conf import settings
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin


class PortalInviteForm(BootstrapFormMixin, forms.Form):
    email = forms.EmailField(
        label=_("Email"), max_length=254,
        help_text=_("The invitation link is sent here. Password resets go to this address later."),
        error_messages={"invalid": _("Email: enter an address such as name@example.com."),
                        "required": _("Email: enter the address the invitation should go to.")},
        widget=forms.EmailInput(attrs={"autocomplete": "off", "inputmode": "email"}),
    )
    language = forms.ChoiceField(label=_("Language of the email"), choices=settings.LANGUAGES,
                                 initial=settings.LANGUAGE_CODE)


class PortalPasswordResetForm(BootstrapFormMixin, PasswordResetForm):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].widget.attrs.update({"inputmode": "email", "autocapitalize": "none"})


class PortalSetPasswordForm(BootstrapFormMixin, SetPasswordForm):
    pass
