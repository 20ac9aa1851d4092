"""The dashboards' figures kept, not counted: ``workspace.models.Tally``.

Counting a district's figures afresh reads every residence, owner's report and rating of the city (3.5 s of SQL
at five million persons, docs/performance.md). Instead the database keeps, per station, how many rows of each
kind there are on each day: current residences by verification due date and status, residences by move-in day,
by move-out day and reason, owners' reports by report day and lateness, properties, and current ratings by
stars. A dashboard sums a few hundred of those rows.

Triggers on the source tables write *deltas* (+1 for a row that starts to count, -1 for one that stops), never
update a shared counter: two registrations at one station never wait for each other or deadlock on a count.
``tally_compact`` (every ten minutes) folds a station's deltas into one row per day and kind; ``tally_check``
(nightly) counts everything afresh, compares, and repairs a difference (which would mean a write around the
triggers; it is logged).

The triggers are built here from ``SOURCES`` for each engine and installed by the migrations (0001; a change to
``SOURCES`` comes with a migration that installs them again and refills); ``fill`` builds the same figures from
the tables.
"""

import logging
from dataclasses import dataclass

from django.db import connection, transaction

logger = logging.getLogger(__name__)

TABLE = "workspace_tally"
NO_DAY = "9999-12-31"  # the day of figures that have none (properties, ratings, a residence without a due date)


@dataclass(frozen=True)
class Source:
    """One kind of figure a table gives: for each of its rows where ``condition`` holds, one at ``station`` on
    ``day`` under ``label``. Expressions are SQL over the row, written ``{r}.column``; ``{no_day}`` is ``NO_DAY``
    as a date in the engine's dialect."""

    kind: str
    condition: str
    station: str
    day: str
    label: str
    update_only: bool = False  # counted only by an update, as the change it makes (not by a fresh count)


SOURCES = {
    "housing_residence": [
        # Residents now: by status and by the day their next verification falls due.
        Source("current", "{r}.status IN ('active', 'unconfirmed')", "{r}.station_id",
               "COALESCE({r}.next_verification_due, {no_day})", "{r}.status"),
        Source("moved_in", "1 = 1", "{r}.station_id", "{r}.start_date", "''"),
        # Moved out: ended registrations under their reason (``ended:<reason>``), any other row with an end date
        # under its status (the monthly chart counts both).
        Source("moved_out", "{r}.end_date IS NOT NULL", "{r}.station_id", "{r}.end_date",
               "{r}.status || ':' || {r}.end_reason"),
    ],
    "portal_submission": [
        Source("reported", "1 = 1", "{r}.station_id", "{r}.reported_on",
               "CASE WHEN {r}.is_late THEN 'late' ELSE 'on_time' END"),
    ],
    "housing_property": [
        Source("properties", "1 = 1", "{r}.station_id", "{no_day}", "''"),
        # A rating counts at its property's station (the ratings' rows below): a property that moves to another
        # station takes its current rating along (-1 at the old station, +1 at the new one).
        Source("stars", "EXISTS (SELECT 1 FROM patrol_propertyrating s WHERE s.property_id = {r}.id AND s.is_current)",
               "{r}.station_id", "{no_day}",
               "(SELECT CAST(s.stars AS TEXT) FROM patrol_propertyrating s WHERE s.property_id = {r}.id "
               "AND s.is_current)", update_only=True),
    ],
    "patrol_propertyrating": [
        Source("stars", "{r}.is_current",
               "(SELECT p.station_id FROM housing_property p WHERE p.id = {r}.property_id)", "{no_day}",
               "CAST({r}.stars AS TEXT)"),
    ],
}
NO_DAY_SQL = {"postgresql": f"DATE '{NO_DAY}'", "sqlite": f"'{NO_DAY}'"}


def _rows(source: Source, row: str, sign: int, vendor: str) -> str:
    """The SELECT of ``source``'s figures for the row(s) called ``row``, each counting ``sign``."""
    parts = {name: getattr(source, name).format(r=row, no_day=NO_DAY_SQL[vendor])
             for name in ("condition", "station", "day", "label")}
    return (f"SELECT {parts['station']} AS station_id, '{source.kind}' AS kind, {parts['day']} AS day, "
            f"{parts['label']} AS label, {sign} AS n")


def _grouped(selects: list[str], *, net: bool) -> str:
    """Insert the selected figures, summed per station, kind, day and label (``net``: only what does not cancel
    out, so an update that changes nothing counted writes nothing)."""
    having = " HAVING SUM(d.n) <> 0" if net else ""
    return (f"INSERT INTO {TABLE} (station_id, kind, day, label, n) "  # noqa: S608 (built from SOURCES alone)
            f"SELECT d.station_id, d.kind, d.day, d.label, SUM(d.n) FROM ({' UNION ALL '.join(selects)}) d "
            f"WHERE d.station_id IS NOT NULL GROUP BY d.station_id, d.kind, d.day, d.label{having}")


def _over(table: str, rows: str, sign: int, vendor: str, *, update: bool = False) -> list[str]:
    """Every source of ``table`` over the rows of the relation ``rows`` (``update``: with those of updates)."""
    return [f"{_rows(source, 'r', sign, vendor)} FROM {rows} r "
            f"WHERE {source.condition.format(r='r', no_day=NO_DAY_SQL[vendor])}"
            for source in SOURCES[table] if update or not source.update_only]


def _for_row(table: str, row: str, sign: int, *, update: bool = False) -> list[str]:
    """Every source of ``table`` for one trigger row (SQLite's ``NEW`` or ``OLD``)."""
    return [f"{_rows(source, row, sign, 'sqlite')} WHERE {source.condition.format(r=row, no_day=NO_DAY_SQL['sqlite'])}"
            for source in SOURCES[table] if update or not source.update_only]


def postgresql_triggers() -> tuple[str, str]:
    """(install, remove) on PostgreSQL: one statement-level function per table, with transition tables, so a
    bulk write (an import, a nightly rating) adds its figures in one grouped INSERT."""
    install, remove = [], []
    for table in SOURCES:
        function = f"{table}_tally"
        install.append(f"""
CREATE OR REPLACE FUNCTION {function}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        {_grouped(_over(table, 'new_rows', 1, 'postgresql'), net=False)};
    ELSIF TG_OP = 'DELETE' THEN
        {_grouped(_over(table, 'old_rows', -1, 'postgresql'), net=False)};
    ELSE
        {_grouped(_over(table, 'old_rows', -1, 'postgresql', update=True)
                  + _over(table, 'new_rows', 1, 'postgresql', update=True), net=True)};
    END IF;
    RETURN NULL;
END
$$;
DROP TRIGGER IF EXISTS {function}_insert ON {table};
DROP TRIGGER IF EXISTS {function}_update ON {table};
DROP TRIGGER IF EXISTS {function}_delete ON {table};
CREATE TRIGGER {function}_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
CREATE TRIGGER {function}_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function}();
""")
        remove.append(f"DROP TRIGGER IF EXISTS {function}_insert ON {table}; "
                      f"DROP TRIGGER IF EXISTS {function}_update ON {table}; "
                      f"DROP TRIGGER IF EXISTS {function}_delete ON {table}; "
                      f"DROP FUNCTION IF EXISTS {function}();")
    return "".join(install), "".join(remove)


def sqlite_triggers() -> tuple[list[str], list[str]]:
    """(install, remove) on SQLite: row triggers, the same figures."""
    install, remove = [], []
    for table in SOURCES:
        name = f"{table}_tally"
        for event, selects, net in (("INSERT", _for_row(table, "NEW", 1), False),
                                    ("DELETE", _for_row(table, "OLD", -1), False),
                                    ("UPDATE", _for_row(table, "OLD", -1, update=True)
                                     + _for_row(table, "NEW", 1, update=True), True)):
            remove.append(f"DROP TRIGGER IF EXISTS {name}_{event.lower()}")
            install.append(remove[-1])
            install.append(f"CREATE TRIGGER {name}_{event.lower()} AFTER {event} ON {table} BEGIN "
                           f"{_grouped(selects, net=net)}; END")
    return install, remove


def counted_sql(vendor: str) -> str:
    """Every figure counted afresh from the tables: ``(station_id, kind, day, label, n)``, none zero."""
    selects = [select for table in SOURCES for select in _over(table, table, 1, vendor)]
    return (f"SELECT d.station_id, d.kind, d.day, d.label, SUM(d.n) AS n FROM"  # noqa: S608 (from SOURCES alone)
            f" ({' UNION ALL '.join(selects)}) d "
            f"WHERE d.station_id IS NOT NULL GROUP BY d.station_id, d.kind, d.day, d.label")


def fill(cursor, vendor: str) -> int:
    """Replace the figures by a fresh count (migrations, ``generate_city``, and a repair)."""
    cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608 (a fixed name)
    cursor.execute(f"INSERT INTO {TABLE} (station_id, kind, day, label, n) {counted_sql(vendor)}")  # noqa: S608
    return cursor.rowcount


def compact() -> int:
    """Fold the deltas into one row per station, kind, day and label (dropping those that sum to zero); the
    figures read the same before and after. On PostgreSQL a delta written meanwhile is not in the statement's
    snapshot, so it is neither deleted nor folded: it waits for the next run. Returns the rows removed."""
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")  # noqa: S608 (a fixed name)
        before = cursor.fetchone()[0]
        if connection.vendor == "postgresql":
            cursor.execute(f"""
                WITH folded AS (DELETE FROM {TABLE} RETURNING station_id, kind, day, label, n)
                INSERT INTO {TABLE} (station_id, kind, day, label, n)
                SELECT station_id, kind, day, label, SUM(n) FROM folded
                 GROUP BY station_id, kind, day, label HAVING SUM(n) <> 0""")  # noqa: S608
        else:  # one writer at a time: nothing is written between these statements
            cursor.execute(f"""CREATE TEMP TABLE tally_folded AS SELECT station_id, kind, day, label, SUM(n) AS n
                                 FROM {TABLE} GROUP BY station_id, kind, day, label HAVING SUM(n) <> 0""")  # noqa: S608
            cursor.execute(f"DELETE FROM {TABLE}")  # noqa: S608
            cursor.execute(f"INSERT INTO {TABLE} (station_id, kind, day, label, n) "  # noqa: S608
                           "SELECT station_id, kind, day, label, n FROM tally_folded")
            cursor.execute("DROP TABLE tally_folded")
        cursor.execute(f"SELECT COUNT(*) FROM {TABLE}")  # noqa: S608
        return max(before - cursor.fetchone()[0], 0)


def check() -> dict:
    """Compare the kept figures with a fresh count; if they differ (a write around the triggers), log it and
    count afresh. Returns ``{"figures": figures counted, "different": how many differed}``.

    On PostgreSQL both are read in one REPEATABLE READ snapshot, without locking out writers: a registration
    committed meanwhile is in neither, and the repair deletes only the rows of the snapshot, so that
    registration's delta stays and adds to the fresh count."""
    vendor = connection.vendor
    with transaction.atomic(), connection.cursor() as cursor:
        if vendor == "postgresql" and not _in_outer_transaction():
            cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        # Compared in the database, a figure at a time: the city's few hundred thousand never come to Python.
        cursor.execute(f"""
            SELECT COUNT(c.n), COALESCE(SUM(CASE WHEN COALESCE(c.n, 0) <> COALESCE(k.n, 0) THEN 1 ELSE 0 END), 0)
              FROM ({counted_sql(vendor)}) c
              FULL OUTER JOIN (SELECT station_id, kind, day, label, SUM(n) AS n FROM {TABLE}
                                GROUP BY station_id, kind, day, label) k
                ON k.station_id = c.station_id AND k.kind = c.kind AND k.day = c.day AND k.label = c.label""")  # noqa: S608
        figures, different = cursor.fetchone()
        if different:
            logger.warning("dashboard tallies: %d figures differed from a fresh count; counted again", different)
            fill(cursor, vendor)
    return {"figures": figures, "different": different}


def _in_outer_transaction() -> bool:
    """Whether ``check``'s atomic block is nested in another (a test's): its isolation is then that one's."""
    return len(connection.atomic_blocks) > 1
