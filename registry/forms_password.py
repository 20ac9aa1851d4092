"""The forms that set a password: a new one through a one-time link, and the change with the current one.
The rules themselves are the validators of ``registry.passwords``."""

from django.contrib.auth.forms import PasswordChangeForm, SetPasswordForm
from django.utils.translation import gettext_lazy as _

from .forms import BootstrapFormMixin, NamedErrorsMixin
from .passwords import password_rules_text


class NewPasswordMixin:
    """For Django's ``SetPasswordForm`` and its subclasses: the rules shown under the new password, and a
    refused password marked on that field (Django marks the confirmation), each error naming its field."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.error_messages = {**self.error_messages, "password_mismatch": _(
            "New password confirmation: not the same as the new password. Type the new password again.")}
        self.fields["new_password1"].help_text = password_rules_text(user)
        self.fields["new_password2"].help_text = _("The same password again, to be sure of it.")

    def clean(self):
        self.validate_passwords("new_password1", "new_password2")
        self.validate_password_for_user(self.user, "new_password1")
        # Django's SetPasswordForm.clean would validate again, onto the confirmation field.
        return super(SetPasswordForm, self).clean()


class NewPasswordForm(BootstrapFormMixin, NamedErrorsMixin, NewPasswordMixin, SetPasswordForm):
    """A new password through a one-time link."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["new_password1"].widget.attrs["autofocus"] = True


class OwnPasswordChangeForm(BootstrapFormMixin, NamedErrorsMixin, NewPasswordMixin, PasswordChangeForm):
    """The signed-in user's own password: the current one first."""

    def __init__(self, user, *args, **kwargs):
        super().__init__(user, *args, **kwargs)
        self.fields["old_password"].label = _("Current password")
        self.fields["old_password"].error_messages["required"] = _(
            "Current password: type the password you signed in with.")
        self.error_messages["password_incorrect"] = _(
            "Current password: not correct. Type the password you signed in with.")

    def clean(self):
        # Without the current password, say nothing about the new one: the history check would tell a
        # stranger at an unlocked screen whether a guess is one of the user's passwords.
        if self.has_error("old_password"):
            return self.cleaned_data
        return super().clean()

    @property
    def current_password_wrong(self) -> bool:
        return self.has_error("old_password", code="password_incorrect")

