"""The change feed: every create, update and delete of a registry record, in commit order.

Writers insert ``ChangeLog`` rows with no position (``seq`` NULL) inside their own transaction.
Readers first call ``changes_sequence()``, which, under a lock, numbers every committed row that
has no position yet, in id order, after the highest position so far. A row becomes visible to the
sequencer only once its transaction has committed, so positions follow commit order and a reader's
cursor never skips a row that commits late. Writers never wait on each other for this.
"""

from django.db import connection, transaction

from .models import ChangeAction, ChangeLog

_LOCK_KEY = 0x52454749  # "REGI": the PostgreSQL advisory lock that serialises the sequencer

_SEQUENCE_SQL = """
WITH pending AS (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n
    FROM registry_changelog WHERE seq IS NULL
),
base AS (SELECT COALESCE(MAX(seq), 0) AS top FROM registry_changelog)
UPDATE registry_changelog
SET seq = (SELECT top FROM base) + pending.n
FROM pending
WHERE registry_changelog.id = pending.id
"""


def change_record(instance, action: str) -> None:
    if hasattr(instance, "get_change_scope"):
        station_id, landlord_id, employer_id = instance.get_change_scope()
    else:
        station_id, landlord_id, employer_id = getattr(instance, "get_audit_station_id", lambda: None)(), None, None
    entry = {"object_type": instance._meta.label_lower, "object_id": str(instance.pk), "action": action,
             "version": getattr(instance, "version", None) if action != ChangeAction.DELETE else None}
    rows = [ChangeLog(**entry, station_id=station_id, landlord_id=landlord_id, employer_id=employer_id)]
    # Stations that may still read the record although it is filed under another one (a person's
    # earlier stations): each gets a copy, so its feed stays complete.
    also = getattr(instance, "get_change_other_station_ids", None)
    for other in sorted(set(also()) - {station_id}) if also else ():
        rows.append(ChangeLog(**entry, station_id=other, is_copy=True, copy_of_station_id=station_id))
    if len(rows) == 1:
        rows[0].save()
    else:
        ChangeLog.objects.bulk_create(rows)


def changes_sequence() -> int:
    """Give every committed, unnumbered change its feed position; returns how many were numbered."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        cursor.execute(_SEQUENCE_SQL)
        return cursor.rowcount


def changes_visible_to(user):
    """Sequenced changes within the user's scope, oldest first."""
    from .audit import audited_models
    from .scoping import scope_for

    scope = scope_for(user)
    rows = ChangeLog.objects.filter(seq__isnull=False).order_by("seq")
    if scope.is_global:
        return rows.filter(is_copy=False)
    if scope.station_ids:
        # A copy is left out where the reader also sees the station of the row it copies.
        return rows.filter(station_id__in=scope.station_ids).exclude(
            is_copy=True, copy_of_station_id__in=scope.station_ids)
    # Owners see changes only of the kinds of record they may read (not visits or inspections, say):
    # a feed entry must never point at something the reader would get a 403 for.
    readable = [model._meta.label_lower for model in audited_models()
                if user.has_perm(f"{model._meta.app_label}.view_{model._meta.model_name}")]
    # ... and of their own landlord or employer record.
    if scope.landlord_id:
        return rows.filter(landlord_id=scope.landlord_id, object_type__in=[*readable, "housing.landlord"])
    if scope.employer_id:
        return rows.filter(employer_id=scope.employer_id, object_type__in=[*readable, "persons.employer"])
    return rows.none()
