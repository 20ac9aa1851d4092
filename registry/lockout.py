"""Sign-in failures counted per client address, so that a password spray across many accounts is refused.

django-axes locks an account per (user name, address) after ``AXES_FAILURE_LIMIT`` failures: a stranger at
another desk cannot lock a user out. On top of that, an address with ``ADDRESS_FAILURE_LIMIT`` failures
within ``ADDRESS_FAILURE_MINUTES`` is refused for every account. Every failure counts: a wrong password (the
staff, portal and admin logins are one page), a wrong second-factor code, an unknown API token.

The count lives in the shared cache, in five-minute buckets: the window is the current bucket and the ones
before it, so a failure stops counting between 10 and 15 minutes after it happened (rounded down to the
bucket) and the lock lifts by itself.
"""

import time

from axes.handlers.proxy import AxesProxyHandler
from axes.signals import user_locked_out
from django.conf import settings
from django.contrib.auth.signals import user_login_failed
from django.core.cache import cache
from django.dispatch import receiver
from django.shortcuts import render

from .audit import record
from .models import AuditAction
from .net import client_ip

BUCKET_SECONDS = 300


def _buckets(now: float | None = None) -> list[str]:
    window = settings.REGISTRY["ADDRESS_FAILURE_MINUTES"] * 60
    current = int((now or time.time()) // BUCKET_SECONDS)
    return [str(current - n) for n in range(max(1, window // BUCKET_SECONDS))]


def _key(address: str, bucket: str) -> str:
    return f"signin-failures:{address}:{bucket}"


def address_failures(address: str | None) -> int:
    if not address:
        return 0
    counts = cache.get_many([_key(address, bucket) for bucket in _buckets()])
    return sum(counts.values())


def address_failed(address: str | None) -> None:
    """Count one failed sign-in from ``address``."""
    if not address:
        return
    key = _key(address, _buckets()[0])
    cache.add(key, 0, settings.REGISTRY["ADDRESS_FAILURE_MINUTES"] * 60 + BUCKET_SECONDS)
    try:
        cache.incr(key)
    except ValueError:  # evicted between add and incr
        cache.set(key, 1, settings.REGISTRY["ADDRESS_FAILURE_MINUTES"] * 60 + BUCKET_SECONDS)


def address_locked(address: str | None) -> bool:
    return address_failures(address) >= settings.REGISTRY["ADDRESS_FAILURE_LIMIT"]


def signin_refused(request, username: str = "") -> bool:
    """Whether this sign-in attempt is refused before it is checked: the address is locked, or the account
    is locked at this address (django-axes)."""
    if address_locked(client_ip(request)):
        return True
    return bool(username) and AxesProxyHandler.is_locked(request, credentials={"username": username})


def locked_response(request, username: str = ""):
    """The one answer to a refused sign-in, the same whatever the account name. Audited."""
    record(action=AuditAction.LOCKED_OUT, user=None, reason="address" if address_locked(client_ip(request))
           else "account", changes={"username": username[:150]} if username else {})
    return render(request, settings.AXES_LOCKOUT_TEMPLATE, {"cooloff_timedelta": settings.AXES_COOLOFF_TIME},
                  status=429)


@receiver(user_login_failed, dispatch_uid="registry_address_failures")
def _count_failure(sender, credentials, request=None, **kwargs):
    if request is not None:
        address_failed(client_ip(request))


@receiver(user_locked_out, dispatch_uid="registry_account_locked_out")
def _account_locked(sender, request=None, username=None, ip_address=None, **kwargs):
    record(action=AuditAction.LOCKED_OUT, user=None, reason="account",
           changes={"username": (username or "")[:150]})
