"""Passwords (docs/security.md): the rules a new one must meet, the history that keeps the last few from
coming back, the one-time links that set one, and what follows a reset or a change.

The rules are Django password validators (``AUTH_PASSWORD_VALIDATORS``), so every form that sets a password
applies them: the change page, the reset and invitation links, the admin's. A station-side account needs
``REGISTRY["STATION_PASSWORD_MIN_LENGTH"]`` characters, a portal account Django's 8; nobody may reuse one of
their last ``REGISTRY["PASSWORD_HISTORY"]`` passwords. Django calls each validator's ``password_changed``
whenever a user is saved after ``set_password``, wherever that happens: the history is recorded there.

Three kinds of one-time link, each with its own token salt so that one cannot stand in for another:
the portal's email reset (Django's default generator), the administrator's link for a station account,
both ``PASSWORD_RESET_TIMEOUT`` (an hour), and the portal invitation, ``REGISTRY["INVITATION_DAYS"]``.
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth import password_validation as django_validation
from django.contrib.auth.hashers import check_password
from django.contrib.auth.tokens import PasswordResetTokenGenerator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.crypto import constant_time_compare
from django.utils.encoding import force_bytes
from django.utils.http import base36_to_int, urlsafe_base64_encode
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .audit import record
from .models import AuditAction, PasswordHistory
from .signin import account_secure, is_station_side

PORTAL_MIN_LENGTH = 8  # Django's default, kept for landlords and employers


def min_length_for(user) -> int:
    """The shortest password ``user`` may choose; the station rule when the account is not known to be a portal
    account (a new user in the admin has no profile yet)."""
    if user is not None and not is_station_side(user):
        return PORTAL_MIN_LENGTH
    return settings.REGISTRY["STATION_PASSWORD_MIN_LENGTH"]


def password_rules_text(user) -> str:
    """The rules in one sentence, for the help under a new-password field."""
    return _("At least %(min_length)d characters; not a common password, not only digits, not like your user "
             "name; none of your last %(count)d passwords.") % {
        "min_length": min_length_for(user), "count": settings.REGISTRY["PASSWORD_HISTORY"]}


# --- validators (AUTH_PASSWORD_VALIDATORS) ---------------------------------------------------------------
# Django's own, with messages that name the field and the reason like every other message of the registry.

class MinimumLengthByRoleValidator:
    """Station-side accounts: ``STATION_PASSWORD_MIN_LENGTH`` characters; portal accounts: 8."""

    def validate(self, password, user=None):
        min_length = min_length_for(user)
        if len(password) >= min_length:
            return
        if min_length == PORTAL_MIN_LENGTH:
            message = ngettext("New password: too short. Use at least %(min_length)d character.",
                               "New password: too short. Use at least %(min_length)d characters.", min_length)
        else:
            message = ngettext("New password: too short. Station accounts need at least %(min_length)d character.",
                               "New password: too short. Station accounts need at least %(min_length)d characters.",
                               min_length)
        raise ValidationError(message, code="password_too_short", params={"min_length": min_length})

    def get_help_text(self):
        return _("Station accounts: at least %(station)d characters; portal accounts: at least %(portal)d.") % {
            "station": settings.REGISTRY["STATION_PASSWORD_MIN_LENGTH"], "portal": PORTAL_MIN_LENGTH}


class UserAttributeSimilarityValidator(django_validation.UserAttributeSimilarityValidator):
    def get_error_message(self):
        return _("New password: too similar to the %(verbose_name)s. Choose one nobody could guess from it.")


class CommonPasswordValidator(django_validation.CommonPasswordValidator):
    def get_error_message(self):
        return _("New password: too common; it is among the first an attacker tries. Choose another.")


class NumericPasswordValidator(django_validation.NumericPasswordValidator):
    def get_error_message(self):
        return _("New password: only digits. Add letters or other characters.")


class PasswordHistoryValidator:
    """Not one of the user's last ``PASSWORD_HISTORY`` passwords (the current one included). Records each new
    password's hash when it is saved, keeping only that many."""

    def _size(self) -> int:
        return settings.REGISTRY["PASSWORD_HISTORY"]

    def _recent_hashes(self, user) -> list[str]:
        size = self._size()
        hashes = list(PasswordHistory.objects.filter(user=user).values_list("password", flat=True)[:size])
        # The stored password counts even when it was set before the history was kept.
        current = get_user_model()._default_manager.filter(pk=user.pk).values_list("password", flat=True).first()
        if current and current not in hashes:
            hashes = [current, *hashes][:size]
        return hashes

    def validate(self, password, user=None):
        if user is None or user.pk is None or self._size() < 1:
            return
        if any(check_password(password, encoded) for encoded in self._recent_hashes(user)):
            size = self._size()
            raise ValidationError(ngettext(
                "New password: you used it recently. Choose one that is not your last password.",
                "New password: you used it recently. Choose one that is not among your last %(count)d passwords.",
                size), code="password_reused", params={"count": size})

    @transaction.atomic
    def password_changed(self, password, user=None):
        if user is None or user.pk is None or not user.has_usable_password():
            return
        newest = PasswordHistory.objects.filter(user=user).first()
        if newest is not None and check_password(password, newest.password):
            # The same password set again without the rules (a script, the demo seed): one entry.
            newest.password = user.password
            newest.save(update_fields=["password"])
            return
        PasswordHistory.objects.create(user=user, password=user.password)
        keep = PasswordHistory.objects.filter(user=user).values_list("pk", flat=True)[:max(1, self._size())]
        PasswordHistory.objects.filter(user=user).exclude(pk__in=list(keep)).delete()

    def get_help_text(self):
        return _("None of your last %(count)d passwords.") % {"count": self._size()}


# --- one-time links ----------------------------------------------------------------------------------------

class TimedTokenGenerator(PasswordResetTokenGenerator):
    """Django's one-time token with a lifetime of its own: Django's ``check_token`` reads
    ``settings.PASSWORD_RESET_TIMEOUT`` itself, so the whole check is here with ``timeout()`` instead."""

    def timeout(self) -> int:
        return settings.PASSWORD_RESET_TIMEOUT

    def check_token(self, user, token):
        if not (user and token):
            return False
        try:
            ts_b36, _hash = token.split("-")
            ts = base36_to_int(ts_b36)
        except ValueError:
            return False
        for secret in [self.secret, *self.secret_fallbacks]:
            if constant_time_compare(self._make_token_with_timestamp(user, ts, secret), token):
                break
        else:
            return False
        return self._num_seconds(self._now()) - ts <= self.timeout()


class StationResetTokenGenerator(TimedTokenGenerator):
    """The administrator's link for a station account: ``PASSWORD_RESET_TIMEOUT``."""

    key_salt = "registry.passwords.StationResetTokenGenerator"


class InvitationTokenGenerator(TimedTokenGenerator):
    """The portal invitation: ``REGISTRY["INVITATION_DAYS"]`` days, longer than a reset."""

    key_salt = "registry.passwords.InvitationTokenGenerator"

    def timeout(self) -> int:
        return settings.REGISTRY["INVITATION_DAYS"] * 24 * 3600


station_reset_tokens = StationResetTokenGenerator()
invitation_tokens = InvitationTokenGenerator()


# --- services ------------------------------------------------------------------------------------------

def check_station_reset(*, user) -> None:
    """Whether an administrator may give ``user`` a one-time link: an active station-side account."""
    if not user.is_active:
        raise ValidationError(_("%(user)s is deactivated: activate the account before setting its password.")
                              % {"user": user.get_username()}, code="inactive")
    if not is_station_side(user):
        raise ValidationError(_("%(user)s is a portal account: its owner resets the password by email, or an "
                                "officer sends a new invitation.") % {"user": user.get_username()}, code="portal")


@transaction.atomic
def station_reset_link_create(*, user, actor, request=None) -> str:
    """A one-time link for a station account to set a new password (``PASSWORD_RESET_TIMEOUT``), for the
    administrator to hand over in person: it is not emailed, so a mailbox cannot take over a station account.
    The current password works until the link is used. Audited (RESET_REQUESTED, the administrator as actor)."""
    check_station_reset(user=user)
    path = reverse("password:reset_confirm", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": station_reset_tokens.make_token(user)})
    record(action=AuditAction.RESET_REQUESTED, object_type="auth.user", object_id=user.pk, user=actor,
           changes={"via": "administrator link", "username": user.get_username()})
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


def portal_reset_requested(*, user) -> None:
    """A reset link is emailed to a portal account. Audited (RESET_REQUESTED); the address typed is not kept."""
    if is_station_side(user):
        raise ValueError("the email reset serves portal accounts only")
    record(action=AuditAction.RESET_REQUESTED, object_type="auth.user", object_id=user.pk, user=None,
           changes={"via": "email"})


def password_reset_used(*, user, via: str, keep: str | None = None) -> None:
    """A one-time link set ``user``'s password: every other session ends (all of them unless ``keep``, the
    session the link signed in) and every API token is revoked. Audited (RESET_USED)."""
    record(action=AuditAction.RESET_USED, object_type="auth.user", object_id=user.pk, user=user,
           changes={"via": via})
    account_secure(user=user, keep=keep, actor=user, reason="password reset")


def password_changed_by_user(*, user, keep: str | None) -> None:
    """The user changed their own password: their other sessions end and their API tokens are revoked.
    Audited (PASSWORD_CHANGED)."""
    record(action=AuditAction.PASSWORD_CHANGED, object_type="auth.user", object_id=user.pk, user=user)
    account_secure(user=user, keep=keep, actor=user, reason="password changed")


def password_set_by_administrator(*, user, actor, keep: str | None = None) -> None:
    """An administrator set (or disabled) ``user``'s password in the admin: as after a reset, the user's
    sessions end and their tokens are revoked. Audited (PASSWORD_CHANGED, the administrator as actor)."""
    record(action=AuditAction.PASSWORD_CHANGED, object_type="auth.user", object_id=user.pk, user=actor,
           changes={"via": "admin", "usable": user.has_usable_password()})
    account_secure(user=user, keep=keep, actor=actor, reason="password set by an administrator")
