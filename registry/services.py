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


@transaction.atomic
@transaction.atomic
def api_token_create(*, user, name: str):
    """A new token for ``user``; the raw key is returned once and never stored."""
    import secrets

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": _("Name: say what the token is for, e.g. the system that will use it.")})
    raw = "rg_" + secrets.token_urlsafe(32)
    expires_at = timezone.now() + datetime.timedelta(days=settings.REGISTRY["TOKEN_DAYS_DEFAULT"])
    token = ApiToken(user=user, name=name[:100], prefix=raw[:8], key_hash=_token_hash(raw), expires_at=expires_at)
    token.full_clean()
    token.save()
    record(action=AuditAction.CREATE, obj=token, user=user, changes={"name": token.name, "prefix": token.prefix})
    return token, raw


@transaction.atomic
def api_token_revoke(*, token) -> None:
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(action=AuditAction.UPDATE, obj=token, changes={"revoked_at": token.revoked_at.isoformat()})


def api_token_user(raw: str):
    """The token and its user for a raw key, or None if unknown or revoked."""
    return ApiToken.objects.select_related("user__profile").filter(
        key_hash=_token_hash(raw), revoked_at__isnull=True, user__is_active=True).first()
