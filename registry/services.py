"""Shared write helpers: optimistic concurrency for rows that people edit."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from .audit import record
from .models import ApiToken, AuditAction


class StaleVersionError(ValidationError):
    """Someone else saved this record after it was loaded; nothing was written."""

    def __init__(self):
        super().__init__(
            _("This record was changed by someone else after you opened it. "
              "Reload it to see their changes, then make yours again."),
            code="stale",
        )


@transaction.atomic
def versioned_save(instance: models.Model, *, expected_version: int | None, fields: list[str]) -> None:
    """Save ``fields`` only if the row still has ``expected_version``; bump the version.

    The row is locked (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's IMMEDIATE transactions
    serialise writers) between the check and the write, so two concurrent edits can't both win.
    ``expected_version=None`` means "the version this instance was loaded with".
    """
    instance.full_clean()
    model = type(instance)
    expected = instance.version if expected_version is None else expected_version
    current = (
        model._default_manager.select_for_update().filter(pk=instance.pk).values_list("version", flat=True).first()
    )
    if current is None or current != expected:
        raise StaleVersionError()
    instance.version = current + 1
    update_fields = set(fields) | {"version"}
    if any(f.name == "updated_at" for f in model._meta.concrete_fields):
        update_fields.add("updated_at")
    instance.save(update_fields=update_fields)


def _token_hash(raw: str) -> str:
    import hashlib

    return hashlib.sha256(raw.encode()).hexdigest()


# What a token is now (``api_token_state``): usable, past its expiry, or revoked (revoked wins).
API_TOKEN_ACTIVE, API_TOKEN_EXPIRED, API_TOKEN_REVOKED = "active", "expired", "revoked"
API_TOKEN_STATES = (API_TOKEN_ACTIVE, API_TOKEN_EXPIRED, API_TOKEN_REVOKED)


def api_token_state(token, *, now: datetime.datetime | None = None) -> str:
    if token.revoked_at is not None:
        return API_TOKEN_REVOKED
    if token.expires_at <= (now or timezone.now()):
        return API_TOKEN_EXPIRED
    return API_TOKEN_ACTIVE


def api_token_expiry(*, expires_in_days: int | None = None, expires_at: datetime.datetime | None = None,
                     now: datetime.datetime | None = None) -> datetime.datetime:
    """When a new token expires: ``expires_in_days`` from now, or at ``expires_at``, or by default
    ``REGISTRY["TOKEN_DAYS_DEFAULT"]`` days from now; never more than ``TOKEN_DAYS_MAX`` days away.
    A ValidationError names the field at fault (the page's form and the API use the same names)."""
    now = now or timezone.now()
    days_max = settings.REGISTRY["TOKEN_DAYS_MAX"]
    if expires_in_days is not None and expires_at is not None:
        raise ValidationError({"expires_at": _("Expires at: give either expires_in_days or expires_at, not both.")})
    if expires_at is not None:
        if timezone.is_naive(expires_at):
            expires_at = timezone.make_aware(expires_at)
        if not now < expires_at <= now + datetime.timedelta(days=days_max):
            raise ValidationError({"expires_at": _(
                "Expires at: a moment in the future, at most %(days)d days from now.") % {"days": days_max}})
        return expires_at
    days = settings.REGISTRY["TOKEN_DAYS_DEFAULT"] if expires_in_days is None else expires_in_days
    if not 1 <= days <= days_max:
        raise ValidationError({"expires_in_days": _(
            "Expires after: a whole number of days from 1 to %(days)d.") % {"days": days_max}})
    return now + datetime.timedelta(days=days)


@transaction.atomic
def api_token_create(*, user, name: str, expires_in_days: int | None = None,
                     expires_at: datetime.datetime | None = None, read_only: bool = False):
    """A new token for ``user``; the raw key is returned once and never stored. It expires as
    ``api_token_expiry`` decides; a read-only token may read and never write. Audited (TOKEN_CREATED).

    Who may create one (a session verified with a second factor, not a token, not from a locked address) is
    the caller's check: the page and ``POST /api/v1/tokens/`` make it before calling this."""
    import secrets

    name = (name or "").strip()
    errors = {} if name else {"name": [_("Name: say what the token is for, e.g. the system that will use it.")]}
    try:
        expires_at = api_token_expiry(expires_in_days=expires_in_days, expires_at=expires_at)
    except ValidationError as exc:
        errors |= exc.message_dict
    if errors:
        raise ValidationError(errors)
    raw = "rg_" + secrets.token_urlsafe(32)
    token = ApiToken(user=user, name=name[:100], prefix=raw[:8], key_hash=_token_hash(raw), expires_at=expires_at,
                     read_only=bool(read_only))
    token.full_clean()
    token.save()
    record(action=AuditAction.TOKEN_CREATED, obj=token, user=user, changes={
        "name": token.name, "prefix": token.prefix, "expires_at": token.expires_at.isoformat(),
        "read_only": token.read_only})
    return token, raw


@transaction.atomic
def api_token_revoke(*, token) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(action=AuditAction.TOKEN_REVOKED, obj=token, changes={"revoked_at": token.revoked_at.isoformat()})


def api_token_find(raw: str):
    """The token (with its user and profile) for a raw key, whatever its state, or None if no such key or
    its user is deactivated. The caller decides what an expired or revoked one gets (``api_token_state``)."""
    return ApiToken.objects.select_related("user__profile").filter(
        key_hash=_token_hash(raw), user__is_active=True).first()
