"""Sign-in policy (docs/security.md): who must give a second factor, how long a session may sit idle, and
what ends a user's sessions and API tokens.

The second factor is django-otp's (TOTP, with one-time recovery codes as a static device). Which roles must
use one is ``REGISTRY["SECOND_FACTOR_ROLES"]``; anyone who has enrolled a device gives it too. A session is
verified once ``django_otp.login`` has stored the device in it (the pages in ``views_second_factor``): that
key is read from the session, so checking costs no query; removing a user's devices ends their sessions.
"""

import time
from urllib.parse import quote

from django.conf import settings
from django.contrib.auth import logout
from django.contrib.auth.signals import user_logged_in
from django.db import transaction
from django.dispatch import receiver
from django.http import JsonResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django_otp import DEVICE_ID_SESSION_KEY, devices_for_user
from qsessions.models import Session

from .audit import record
from .models import ApiToken, AuditAction
from .roles import RoleChoices

# {"needed": bool, "device": bool}: decided at sign-in (and when a device is enrolled), kept in the session.
STATE_KEY = "registry_second_factor"
# Seconds since the epoch of the session's last request, written at most once a minute.
ACTIVITY_KEY = "registry_activity"
ACTIVITY_RESOLUTION = 60
PORTAL_ROLES = {RoleChoices.LANDLORD, RoleChoices.EMPLOYER}
# What an unverified user may still open: the second-factor pages, logout, the language switch.
UNVERIFIED_ALLOWED = {"account:otp_verify", "account:otp_setup", "logout", "login", "set_language"}


def role_of(user) -> str:
    if user.is_superuser:
        return RoleChoices.ADMIN
    profile = getattr(user, "profile", None)
    return profile.role if profile is not None else ""


def is_station_side(user) -> bool:
    return role_of(user) not in PORTAL_ROLES


def second_factor_required(user) -> bool:
    return role_of(user) in settings.REGISTRY["SECOND_FACTOR_ROLES"]


def has_device(user) -> bool:
    return any(True for _device in devices_for_user(user, confirmed=True))


def second_factor_state(user) -> dict:
    device = has_device(user)
    return {"needed": device or second_factor_required(user), "device": device}


def is_verified(request) -> bool:
    return DEVICE_ID_SESSION_KEY in request.session


def idle_seconds(user) -> int:
    minutes = settings.REGISTRY["IDLE_MINUTES_STATION" if is_station_side(user) else "IDLE_MINUTES_PORTAL"]
    return minutes * 60


@receiver(user_logged_in, dispatch_uid="registry_second_factor_state")
def _decide_at_sign_in(sender, request, user, **kwargs):
    if request is not None and hasattr(request, "session"):
        request.session[STATE_KEY] = second_factor_state(user)
        request.session[ACTIVITY_KEY] = int(time.time())


class SignInPolicy:
    """What ``SignInPolicyMiddleware`` decides for one request."""

    def __init__(self, request):
        self.request = request

    def respond(self, get_response):
        request = self.request
        user = request.user
        if user.is_authenticated:
            if self.idle_expired():
                minutes = idle_seconds(user) // 60
                logout(request)
                if request.path.startswith("/api/"):
                    return JsonResponse({"error": "session_expired", "detail": _(
                        "Signed out after %(minutes)d minutes without activity.") % {"minutes": minutes}}, status=401)
                from django.contrib import messages

                messages.info(request, _("You were signed out after %(minutes)d minutes without activity.")
                              % {"minutes": minutes})
                return redirect(f"{reverse('login')}?next={quote(request.get_full_path())}")
            self.touch()
            # For django-otp's helpers and the admin: verified when this session holds a device.
            user.is_verified = lambda: is_verified(request)
        return get_response(request)

    def idle_expired(self) -> bool:
        last = self.request.session.get(ACTIVITY_KEY)
        return last is not None and time.time() - last > idle_seconds(self.request.user)

    def touch(self) -> None:
        session = self.request.session
        now = int(time.time())
        if now - session.get(ACTIVITY_KEY, 0) >= ACTIVITY_RESOLUTION:
            session[ACTIVITY_KEY] = now

    def state(self) -> dict:
        session = self.request.session
        state = session.get(STATE_KEY)
        if state is None:  # a session from before this rule: decide once
            state = session[STATE_KEY] = second_factor_state(self.request.user)
        return state

    def refuse_unverified(self):
        """None to go on; else where an unverified user must go first (or 403 for the API)."""
        request = self.request
        user = request.user
        if not user.is_authenticated or is_verified(request) or not self.state()["needed"]:
            return None
        match = request.resolver_match
        if match is not None and match.view_name in UNVERIFIED_ALLOWED:
            return None
        if request.path.startswith("/api/"):
            return JsonResponse({"error": "second_factor_required", "detail": _(
                "Give your second factor in the browser first: this session is not verified.")}, status=403)
        return redirect(second_factor_url(request, self.state()))


def second_factor_url(request, state: dict | None = None) -> str:
    """The page an unverified user goes to: the code (if they have a device) or enrolment, then back."""
    state = state or second_factor_state(request.user)
    target = reverse("account:otp_verify" if state["device"] else "account:otp_setup")
    return f"{target}?next={quote(request.get_full_path())}"


# --- ending sessions and tokens ------------------------------------------------------------------------

def sessions_end(*, user, keep: str | None = None, actor=None, reason: str) -> int:
    """End the user's sessions (all but ``keep``, a session key): they are signed out at their next request.
    Audited; returns how many ended."""
    sessions = Session.objects.filter(user=user)
    if keep:
        sessions = sessions.exclude(session_key=keep)
    ended = len(sessions)  # the queryset's delete() also clears each from the cache
    if ended:
        sessions.delete()
        record(action=AuditAction.SESSIONS_ENDED, object_type="auth.user", object_id=user.pk,
               user=actor, changes={"sessions": ended}, reason=reason)
    return ended


def api_tokens_revoke_all(*, user, actor=None, reason: str) -> int:
    """Revoke every live API token of the user. Audited; returns how many."""
    now = timezone.now()
    tokens = list(ApiToken.objects.filter(user=user, revoked_at__isnull=True).values_list("pk", flat=True))
    if tokens:
        ApiToken.objects.filter(pk__in=tokens).update(revoked_at=now)
        for pk in tokens:
            record(action=AuditAction.TOKEN_REVOKED, object_type="registry.apitoken", object_id=pk, user=actor,
                   reason=reason)
    return len(tokens)


def account_secure(*, user, keep: str | None = None, actor=None, reason: str) -> None:
    """After a password change or reset, a deactivation, or a change of role or station: every other
    session ends and every token is revoked, once the change is committed."""

    def run():
        sessions_end(user=user, keep=keep, actor=actor, reason=reason)
        api_tokens_revoke_all(user=user, actor=actor, reason=reason)

    transaction.on_commit(run)
