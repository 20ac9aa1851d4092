"""Shared write helpers: optimistic concurrency for rows that people edit."""

from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.utils.translation import gettext_lazy as _


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
