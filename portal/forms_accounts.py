"""Forms for portal accounts: the officer's invitation, and the invitee's password forms (Bootstrap-styled)."""

import unicodedata

from django import forms
from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import PasswordResetForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin, NamedErrorsMixin
from registry.forms_password import NewPasswordMixin
from registry.passwords import portal_reset_requested
from registry.signin import PORTAL_ROLES, is_station_side


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


def _same_email(typed: str, stored: str) -> bool:
    """Django's comparison of a typed address with a stored one (Unicode case folding)."""
    return unicodedata.normalize("NFKC", typed).casefold() == unicodedata.normalize("NFKC", stored).casefold()


class PortalPasswordResetForm(BootstrapFormMixin, PasswordResetForm):
    """Portal accounts only. A station-side account (staff, officers, supervisors, administrators) is never
    found, in the same single query that finds no one for an unknown address: the page, its status and its
    work are the same, and nothing is sent. Station passwords are reset by an administrator's one-time link.

    Audit: RESET_REQUESTED for each link emailed, without the address; nothing for an address that is not a
    portal account's, so that no address typed by a stranger is kept."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["email"].error_messages.update({
            "required": _("Email: enter the address of your account."),
            "invalid": _("Email: enter an address such as name@example.com.")})
        self.fields["email"].widget.attrs.update({"inputmode": "email", "autocapitalize": "none"})

    def get_users(self, email):
        user_model = get_user_model()
        email_field = user_model.get_email_field_name()
        candidates = user_model._default_manager.filter(
            **{f"{email_field}__iexact": email}, is_active=True, is_superuser=False,
            profile__role__in=PORTAL_ROLES).select_related("profile")
        return (user for user in candidates
                if user.has_usable_password() and _same_email(email, getattr(user, email_field))
                and not is_station_side(user))

    def send_mail(self, subject_template_name, email_template_name, context, from_email, to_email,
                  html_email_template_name=None):
        portal_reset_requested(user=context["user"])
        super().send_mail(subject_template_name, email_template_name, context, from_email, to_email,
                          html_email_template_name)


class PortalSetPasswordForm(BootstrapFormMixin, NamedErrorsMixin, NewPasswordMixin, SetPasswordForm):
    pass
