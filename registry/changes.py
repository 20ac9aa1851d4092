"""The change feed: every create, update and delete of a registry record, in commit order.

Writers insert ``ChangeLog`` rows with no position (``seq`` NULL) inside their own transaction.
Readers first call ``changes_sequence()``, which, under a lock, numbers every committed row that
has no position yet, in id order, after the highest position so far. A row becomes visible to the
sequencer only once its transaction has committed, so positions follow commit order and a reader's
cursor never skips a row that commits late. Writers never wait on each other for this. A reader
numbers a bounded batch; a burst (an import) is numbered by ``changes_settle`` in the background.
"""

from django.db import connection, models, transaction
from django.db.models import Case, ExpressionWrapper, F, Max, Q, Value, When, Window
from django.db.models.functions import Cast

from .bulk import insert_rows
from .extensions import ExtensionPoint
from .models import ChangeAction, ChangeLog
from .scoping import scope_for

# Every model whose changes are audited and listed in the feed (``registry.audit.audited`` adds them).
feed_models: set = set()


def audited_models() -> list:
    """Every model whose changes are audited (and listed in the change feed)."""
    return sorted(feed_models, key=lambda model: model._meta.label_lower)


# model label -> ``function(instance) -> ((station_id, landlord_id, employer_id), other station ids)``: the feed
# scope of a record whose readers only an app above the model's knows (a person is read where they live or
# lived). Without one, the record's ``get_change_scope()`` says.
change_scopes = ExtensionPoint("change feed scopes")

_LOCK_KEY = 0x52454749  # "REGI": the PostgreSQL advisory lock that serialises the sequencer

_SEQUENCE_SQL = """
WITH pending AS (
    SELECT id, ROW_NUMBER() OVER (ORDER BY id) AS n
    FROM (SELECT id FROM registry_changelog WHERE seq IS NULL ORDER BY id LIMIT %s) AS oldest
),
base AS (SELECT COALESCE(MAX(seq), 0) AS top FROM registry_changelog)
UPDATE registry_changelog
SET seq = (SELECT top FROM base) + pending.n
FROM pending
WHERE registry_changelog.id = pending.id
"""

# A reader numbers at most this many changes before reading: after a burst (an import of 100,000
# residents writes 200,000), the rest is numbered by ``changes_settle`` or by the next readers. Left
# unnumbered for a moment, a change only appears a little later, still after everything served so far.
READER_BATCH = 5_000
SETTLE_BATCH = 20_000


def _change_rows(instance, action: str, scope: tuple | None = None) -> list[dict]:
    """The feed rows for one change: one filed under its scope, plus a copy for each other station that
    may still read the record (a person's earlier stations), so that station's feed stays complete.
    ``scope`` is ``((station, landlord, employer), other station ids)``; by default the record says."""
    if scope is None:
        provider = change_scopes.first(instance._meta.label_lower)
        if provider is not None:
            scope = provider(instance)
        elif hasattr(instance, "get_change_scope"):
            scope = (instance.get_change_scope(), ())
        else:
            scope = ((getattr(instance, "get_audit_station_id", lambda: None)(), None, None), ())
    (station_id, landlord_id, employer_id), others = scope
    entry = {"object_type": instance._meta.label_lower, "object_id": str(instance.pk), "action": action,
             "version": getattr(instance, "version", None) if action != ChangeAction.DELETE else None}
    rows = [{**entry, "station_id": station_id, "landlord_id": landlord_id, "employer_id": employer_id}]
    for other in sorted(set(others) - {station_id, None}):
        rows.append({**entry, "station_id": other, "is_copy": True, "copy_of_station_id": station_id})
    return rows


def change_record(instance, action: str) -> None:
    insert_rows(ChangeLog, _change_rows(instance, action))


def change_record_many(instances: list, action: str, *, scopes: dict | None = None) -> None:
    """Feed rows for many changes in one INSERT; ``scopes`` maps an instance's pk to its scope (see
    ``_change_rows``) where the caller already knows it, saving a query per row."""
    rows = []
    for instance in instances:
        rows += _change_rows(instance, action, (scopes or {}).get(instance.pk))
    insert_rows(ChangeLog, rows)


def changes_sequence(limit: int | None = None) -> int:
    """Give committed, unnumbered changes their feed positions, oldest first: all of them, or at most
    ``limit``. Returns how many were numbered."""
    with transaction.atomic(), connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
        if connection.vendor == "sqlite":
            # Python's sqlite3 reports no row count for a statement that starts with WITH; the
            # connection's running total of changed rows does, without a query.
            before = connection.connection.total_changes
            cursor.execute(_SEQUENCE_SQL, [-1 if limit is None else limit])
            return connection.connection.total_changes - before
        cursor.execute(_SEQUENCE_SQL, [limit])
        return cursor.rowcount


def changes_settle() -> int:
    """After a burst of changes: number them all in short steps (a reader waits for one step at most),
    then, on PostgreSQL, vacuum the feed, whose numbered rows leave as many dead versions behind, which
    the feed's page query would otherwise walk through until autovacuum came by. Returns how many."""
    numbered = 0
    while True:
        step = changes_sequence(limit=SETTLE_BATCH)
        numbered += step
        if step < SETTLE_BATCH:
            break
    if numbered and connection.vendor == "postgresql" and not connection.in_atomic_block:
        with connection.cursor() as cursor:
            cursor.execute("VACUUM (ANALYZE) registry_changelog")
    return numbered


def changes_visible_to(user):
    """Sequenced changes within the user's scope, oldest first."""
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
    # Their own landlord or employer record is filed under them too, but the API does not show it to them.
    if scope.landlord_id:
        return _owner_rows(user, rows, {"landlord_id": scope.landlord_id}, readable)
    if scope.employer_id:
        return _owner_rows(user, rows, {"employer_id": scope.employer_id}, readable)
    return rows.none()


def _owner_rows(user, rows, owner: dict, types: list[str]):
    """An owner's feed lists only what the owner can read now (docs/api.md, "What a landlord's feed contains").

    A record they can no longer read (a tenant's residence once it ended, which a landlord does not see) keeps
    one entry, its last, shown as a ``delete`` with no version: the consumer learns to drop its copy and is
    never sent to fetch a record that would answer 404. Its earlier entries are left out. Each row carries
    ``readable_now``, which the feed's serializer reads."""
    readable_now = Q(pk__in=[])
    for model in audited_models():
        label = model._meta.label_lower
        visible_to = getattr(model._default_manager.all(), "visible_to", None)
        if label in types and visible_to is not None:
            ids = visible_to(user).annotate(feed_id=Cast("pk", models.CharField())).values("feed_id")
            readable_now |= Q(object_type=label, object_id__in=ids)
    # "Its last entry" by a window over the owner's rows, not a subquery per row: the feed table has no index
    # by record, and the owner's rows are read once either way.
    last_seq = Window(Max("seq"), partition_by=[F("object_type"), F("object_id")])
    listed = Case(When(readable_now, then=Value(True)), When(seq=last_seq, then=Value(True)), default=Value(False),
                  output_field=models.BooleanField())
    return (rows.filter(**owner, object_type__in=types)
            .annotate(readable_now=ExpressionWrapper(readable_now, output_field=models.BooleanField()),
                      listed=listed)
            .filter(listed=True))
