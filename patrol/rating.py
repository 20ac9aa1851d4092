"""Compliance star ratings of properties (PRODUCT.md "Star rating"), computed in the database.

Each batch of properties is rated by one ``INSERT ... SELECT``: the evidence (counts and dates) is an
ORM query, the components, total and stars are plain SQL around it (so the same code runs on SQLite
and PostgreSQL), and the batch's previous snapshots stop being current in the same transaction. A run
killed half-way leaves every property with exactly one current rating; the rerun (same ``run``
label) skips the batches already done. On PostgreSQL a nightly run rates two batches at a time, in
threads with connections of their own, and commits them in order (``_Turn``).
"""

import contextvars
import datetime
import queue
import random
import threading

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Count, Exists, F, OuterRef, Q
from django.utils import timezone

from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import Property, Residence

from .models import Inspection, PropertyRating, VerificationRequest, VerificationRequestKind

BATCH_SIZE = 5000
# Batches rated at once by a nightly run on PostgreSQL: one per core of the database server.
WORKERS = 2


_EVIDENCE = ["arrivals", "arrivals_on_time", "departures", "departures_on_time", "current_residents",
             "overdue_residents", "last_inspection_on", "last_inspection_passed", "units_over_capacity",
             "agreement_signed_on", "requests_unanswered"]
RATED_COLUMNS = ["registration", "verification", "inspection", "occupancy", "agreement", "total", "stars", *_EVIDENCE]


def _evidence_sql(ids: list[int], today: datetime.date) -> tuple[str, list]:
    """``SELECT id, *_EVIDENCE`` for these properties: the residence counts and the crowded units are one
    grouped pass over the batch's units and their residences, summed per property; the latest inspections
    and the unanswered requests are grouped passes of their own; all joined to the properties."""
    rules = settings.REGISTRY
    deadline = datetime.timedelta(days=rules["REPORT_DEADLINE_DAYS"])
    year_ago = today - datetime.timedelta(days=365)
    answer_by = today - datetime.timedelta(days=rules["REMINDER_ANSWER_DAYS"])
    low, high = min(ids), max(ids)

    arrived = Q(start_date__gte=year_ago, start_date__lte=today)
    departed = Q(end_date__gte=year_ago, end_date__lte=today)
    current = Q(status__in=CURRENT)
    # Counted per unit and then summed per property, so that the residences (the batch's largest read: a
    # few per unit, through the unit index) are read once for both the counts and the crowding, not twice.
    # A unit without residences counts nothing and is not crowded: only units with residences need a row.
    per_unit = Residence.objects.filter(unit__property__gte=low, unit__property__lte=high).order_by().values(
        "unit_id", property_ref=F("unit__property_id"), capacity=F("unit__capacity")).annotate(
        arrivals=Count("pk", filter=arrived),
        arrivals_on_time=Count("pk", filter=arrived & Q(reported_on__lte=F("start_date") + deadline)),
        departures=Count("pk", filter=departed),
        departures_on_time=Count("pk", filter=departed & Q(end_reported_on__lte=F("end_date") + deadline)),
        current_residents=Count("pk", filter=current),
        overdue_residents=Count("pk", filter=current & Q(next_verification_due__lt=today)),
    )
    newer = Inspection.objects.filter(property=OuterRef("property")).filter(
        Q(inspected_on__gt=OuterRef("inspected_on")) | Q(inspected_on=OuterRef("inspected_on"), pk__gt=OuterRef("pk")))
    latest_inspections = (Inspection.objects.filter(property__gte=low, property__lte=high).exclude(Exists(newer))
                          .order_by().values("property_id", "inspected_on", "passed"))
    unanswered = VerificationRequest.objects.filter(
        property__gte=low, property__lte=high, kind=VerificationRequestKind.OWNER_CONFIRMATION, closed_on__isnull=True,
        opened_on__lt=answer_by).order_by().values("property_id").annotate(n=Count("pk"))

    parts, params = [], []
    for queryset in (per_unit, latest_inspections, unanswered):
        sql, part_params = queryset.query.sql_with_params()
        parts.append(sql)
        params.extend(part_params)
    sums = ", ".join(f"CAST(SUM(u.{name}) AS INTEGER) AS {name}" for name in _EVIDENCE[:6])
    counts = ", ".join(f"COALESCE(r.{name}, 0) AS {name}" for name in _EVIDENCE[:6])
    marks = ", ".join(["%s"] * len(ids))
    sql = f"""
        SELECT p.id, {counts},
               li.inspected_on AS last_inspection_on, li.passed AS last_inspection_passed,
               COALESCE(r.units_over_capacity, 0) AS units_over_capacity, p.agreement_signed_on,
               COALESCE(q.n, 0) AS requests_unanswered
        FROM housing_property p
        LEFT JOIN (SELECT u.property_ref, {sums},
                          SUM(CASE WHEN u.current_residents > u.capacity THEN 1 ELSE 0 END) AS units_over_capacity
                   FROM ({parts[0]}) u GROUP BY u.property_ref) r ON r.property_ref = p.id
        LEFT JOIN ({parts[1]}) li ON li.property_id = p.id
        LEFT JOIN ({parts[2]}) q ON q.property_id = p.id
        WHERE p.id IN ({marks})"""  # noqa: S608 (SQL built here and by the ORM; values are parameters)
    return sql, [*params, *ids]


# The scores, in plain-SQL layers around the evidence query, so that each correlated count runs once
# per property (as ORM annotations that referred to each other they were re-inlined: 379 subqueries
# per row). Only arithmetic and CASE: SQLite and PostgreSQL run the same text. A component with no
# data is NULL and left out of the maximum, rather than counted as failed.
_SCORES_SQL = """
SELECT t.*,
       CASE WHEN t.total IS NULL THEN 0 {star_cases} ELSE 1 END AS stars
FROM (
  SELECT s.*,
         CASE WHEN s.has_data = 1 THEN CAST(ROUND(100.0 * s.earned / s.possible) AS INTEGER) END AS total
  FROM (
    SELECT c.*,
           COALESCE(c.registration, 0) + COALESCE(c.verification, 0) + c.inspection + c.occupancy
             + c.agreement AS earned,
           CASE WHEN c.registration IS NULL THEN 0 ELSE {w_registration} END
             + CASE WHEN c.verification IS NULL THEN 0 ELSE {w_verification} END
             + {w_fixed} AS possible,
           CASE WHEN c.arrivals + c.departures > 0 OR c.current_residents > 0
                     OR c.last_inspection_on IS NOT NULL THEN 1 ELSE 0 END AS has_data
    FROM (
      SELECT e.*,
             CASE WHEN e.arrivals + e.departures > 0
                  THEN CAST(ROUND({w_registration}.0 * (e.arrivals_on_time + e.departures_on_time)
                                  / (e.arrivals + e.departures)) AS INTEGER) END AS registration,
             CASE WHEN e.current_residents > 0
                  THEN CAST(ROUND({w_verification}.0 * (e.current_residents - e.overdue_residents)
                                  / e.current_residents) AS INTEGER) END AS verification,
             CASE WHEN e.last_inspection_on >= %s AND e.last_inspection_passed = %s
                  THEN {w_inspection} ELSE 0 END AS inspection,
             CASE WHEN e.units_over_capacity = 0 THEN {w_occupancy} ELSE 0 END AS occupancy,
             CASE WHEN e.agreement_signed_on IS NOT NULL AND e.requests_unanswered = 0
                  THEN {w_agreement} ELSE 0 END AS agreement
      FROM ({evidence}) e
    ) c
  ) s
) t
"""


def rated_properties_sql(ids: list[int], today: datetime.date) -> tuple[str, list]:
    """A ``SELECT`` of these properties' ``id`` and ``RATED_COLUMNS`` (evidence and scores), with its parameters."""
    rules = settings.REGISTRY
    weights = {name: int(points) for name, points in rules["RATING_WEIGHTS"].items()}
    inspection_since = today - datetime.timedelta(days=30 * rules["INSPECTION_VALID_MONTHS"] + 5)
    evidence_sql, evidence_params = _evidence_sql(ids, today)
    star_cases = " ".join(f"WHEN t.total >= {int(threshold)} THEN {int(stars)}"
                          for threshold, stars in rules["RATING_STAR_THRESHOLDS"])
    sql = _SCORES_SQL.format(
        evidence=evidence_sql, star_cases=star_cases, **{f"w_{name}": points for name, points in weights.items()},
        w_fixed=weights["inspection"] + weights["occupancy"] + weights["agreement"])
    return sql, [inspection_since, True, *evidence_params]


def _rate_batch(property_ids_query, *, run: str, today: datetime.date, now: datetime.datetime | None = None,
                turn: "_Turn | None" = None) -> int:
    """Rate one batch in one transaction: retire the old current snapshots, insert the new ones. In a
    parallel run (``turn``) the batch commits only after the batch before it has."""
    now = now or timezone.now()
    with transaction.atomic():
        if turn:
            turn.begin()
        # Two ratings of one property at once (a re-rating after a registration beside the nightly run)
        # would each retire the snapshot the other has not committed yet and both insert a current one.
        # Locking the properties first (in id order, so batches cannot deadlock) makes the second wait
        # and then retire the first's snapshot. NO KEY UPDATE leaves inserts that reference them alone.
        ids = list(Property.objects.filter(pk__in=list(property_ids_query)).order_by("pk")
                   .select_for_update(no_key=True).values_list("pk", flat=True))
        rated = 0
        if ids:
            rated = _rate_locked(ids, run=run, today=today, now=now, parallel=turn is not None)
        if turn:
            turn.wait_for_previous()
    return rated


def _rate_locked(ids: list[int], *, run: str, today: datetime.date, now: datetime.datetime, parallel: bool) -> int:
    """Retire the current snapshots of these (locked) properties and insert their new ones."""
    PropertyRating.objects.filter(property_id__in=ids, is_current=True).exclude(run=run).update(is_current=False)
    select, params = rated_properties_sql(ids, today)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            # The batch's residences are a few per unit, found through the unit index. With the default
            # cost of a random page (4, for spinning disks) PostgreSQL read the whole residence table
            # instead: 1.6 s a batch at five million persons; with the table in memory or on SSD (1.1, as
            # docs/deployment.md advises for the server) 0.16 s.
            cursor.execute("SET LOCAL random_page_cost = 1.1")
            if parallel:
                # The run's own threads already keep the cores busy; helper processes per query only add
                # their start-up and hand-over to each batch.
                cursor.execute("SET LOCAL max_parallel_workers_per_gather = 0")
    columns = ", ".join(["property_id", "computed_at", "run", "is_current", *RATED_COLUMNS])
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO patrol_propertyrating ({columns}) "  # noqa: S608 (built here and by the ORM)
            f"SELECT r.id, %s, %s, %s, {', '.join('r.' + name for name in RATED_COLUMNS)} FROM ({select}) r",
            [now, run, True, *params])
        return cursor.rowcount


def _unrated_batches(*, run: str, batch_size: int):
    """The ids of the properties not yet rated in this run, in batches, in id order."""
    done_in_run = PropertyRating.objects.filter(property=OuterRef("pk"), run=run, is_current=True)
    last_id = 0
    while True:
        ids = list(Property.objects.filter(pk__gt=last_id).exclude(Exists(done_in_run))
                   .order_by("pk").values_list("pk", flat=True)[:batch_size])
        if not ids:
            return
        yield ids
        last_id = ids[-1]


def property_rate_all(*, run: str | None = None, today: datetime.date | None = None,
                      batch_size: int = BATCH_SIZE, workers: int = WORKERS) -> int:
    """Rate every property not yet rated in this ``run``; returns how many were rated.

    On PostgreSQL, ``workers`` batches at a time, each in a thread with its own connection (the work is
    the database's: one busy server process per thread). Outside PostgreSQL, or inside a transaction
    (which other connections could not see into), one batch at a time in this connection."""
    today = today or timezone.localdate()
    run = run or f"nightly-{today.isoformat()}"
    batches = _unrated_batches(run=run, batch_size=batch_size)
    if workers < 2 or connection.vendor != "postgresql" or connection.in_atomic_block:
        return sum(_rate_batch(ids, run=run, today=today) for ids in batches)
    return _rate_in_parallel(batches, workers=workers, run=run, today=today)


class _PreviousBatchFailed(Exception):
    pass


class _Turn:
    """A batch's place in a parallel run. Batches commit in the order they were taken, so that a run killed
    half-way has committed its first batches and no others, as a run of one batch at a time would: the
    rerun then resumes after them, and ``computed_at`` grows with the property ids.

    The wait for the previous batch's commit is a wait for its transaction-level advisory lock, so that
    PostgreSQL sees it: were a re-rating of properties of both batches to wait on one while the other
    waited on it, the server would detect the deadlock and fail one of them rather than hang."""

    def __init__(self, key: int, number: int, previous: "_Turn | None"):
        self.key, self.number, self.previous = key, number, previous
        self.started = threading.Event()  # this batch's transaction holds its lock (or never will)
        self.finished = threading.Event()  # this batch's transaction has ended
        self.committed = False

    def begin(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [self.key, self.number])
        self.started.set()

    def wait_for_previous(self) -> None:
        previous, self.previous = self.previous, None  # the chain of turns is not kept alive
        if previous is None:
            return
        previous.started.wait()
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock_shared(%s, %s)", [previous.key, previous.number])
        previous.finished.wait()  # its transaction has ended: only its thread's bookkeeping is left
        if not previous.committed:
            raise _PreviousBatchFailed

    def end(self, *, committed: bool) -> None:
        self.committed = committed
        self.started.set()
        self.finished.set()


def _rate_in_parallel(batches, *, workers: int, run: str, today: datetime.date) -> int:
    """Rate the batches ``workers`` at a time, committing them in order (``_Turn``). If one fails, those
    before it still commit and those after it do not; the first error is raised."""
    todo = queue.Queue(maxsize=workers)  # bounded: the ids of a few batches in memory, whatever the city
    taking, last_now = threading.Lock(), [timezone.now()]
    rated = [0] * workers
    failed, failing = {}, threading.Lock()  # batch number -> its error; -1: the caller's thread was interrupted

    def first_failed() -> int | None:
        with failing:
            return min(failed, default=None)

    def work(slot: int) -> None:
        try:
            while True:
                with taking:  # computed_at grows with the batches, as in a run of one batch at a time
                    item = todo.get()
                    now = last_now[0] = max(timezone.now(), last_now[0] + datetime.timedelta(microseconds=1))
                if item is None:
                    return
                ids, turn = item
                if (first := first_failed()) is not None and turn.number > first:
                    turn.end(committed=False)
                    continue
                try:
                    rated[slot] += _rate_batch(ids, run=run, today=today, now=now, turn=turn)
                except _PreviousBatchFailed:
                    turn.end(committed=False)
                except BaseException as exc:  # noqa: BLE001 (raised again in the caller's thread)
                    with failing:
                        failed[turn.number] = exc
                    turn.end(committed=False)
                else:
                    turn.end(committed=True)
        finally:
            connection.close()  # this thread's own connection

    threads = [threading.Thread(target=contextvars.copy_context().run, args=(work, slot), daemon=True,
                                name=f"rating-{slot}") for slot in range(workers)]
    for thread in threads:
        thread.start()
    key = random.randint(-(2**31), 2**31 - 1)  # noqa: S311 (a lock key of this run's own, not a secret)
    previous = None
    try:
        for number, ids in enumerate(batches):
            if first_failed() is not None:
                break
            previous = _Turn(key, number, previous)
            todo.put((ids, previous))
    except BaseException:
        with failing:
            failed[-1] = None  # a time limit, say: no further batch starts
        raise
    finally:
        for _ in threads:
            todo.put(None)
        for thread in threads:
            thread.join()
    if (first := first_failed()) is not None:
        raise failed[first]
    return sum(rated)


def properties_rate(*, property_ids: list[int], today: datetime.date | None = None) -> int:
    """Re-rate these properties now, in one batch; ids of properties gone meanwhile are skipped."""
    today = today or timezone.localdate()
    run = f"change-{timezone.now():%Y%m%d%H%M%S%f}"
    return _rate_batch(property_ids, run=run, today=today)


def property_rate(*, property_id: int, today: datetime.date | None = None) -> PropertyRating | None:
    """Re-rate one property now (after an inspection, a visit, a registration...)."""
    properties_rate(property_ids=[property_id], today=today)
    return PropertyRating.objects.filter(property_id=property_id, is_current=True).first()


def current_stars(property_id: int) -> int:
    return PropertyRating.objects.filter(property_id=property_id, is_current=True).values_list(
        "stars", flat=True).first() or 0
