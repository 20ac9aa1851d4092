"""A real Celery worker is SIGKILLed in the middle of the nightly rating recalculation (issue 5, "Reliability").

Real PostgreSQL (the test database, shared with the worker processes), real Redis, real ``celery worker``
processes. The message is redelivered (``acks_late``: it was never acknowledged; Redis hands it out again after
the visibility timeout), a second worker resumes the run, and:

* every property ends with exactly one current rating, all from the run;
* the batches the killed worker committed are intact (same rows) and not rated twice (the rerun resumed);
* no half-written batch is ever visible: at every poll, during the run, at the kill and during the resumed run,
  every property has exactly one current rating and the run's ratings are whole batches, the old snapshots of
  exactly those properties retired.

Test-only knobs (environment variables read here only, never by the app):

* ``KILL_TEST_PROPERTIES`` (default 300) and ``KILL_TEST_BATCH_SIZE`` (default 10): 30 batches;
* ``KILL_TEST_ROW_DELAY`` (seconds, default 0.01): each batch is also slowed down inside its own transaction by a
  trigger this test installs on ``patrol_propertyrating`` (``pg_sleep`` per inserted ``kill-test`` row), so the
  kill keeps a wide window however fast the rating query gets and usually lands while a batch's transaction is
  open; the trigger is dropped afterwards;
* ``KILL_TEST_VISIBILITY_TIMEOUT`` (seconds, default 5): the workers' ``CELERY_VISIBILITY_TIMEOUT``;
* ``KILL_TEST_TIMEOUT`` (seconds, default 120): the bound on the whole scenario.
"""

import datetime
import os
import random
import time
from collections import defaultdict

import pytest
from celery import Celery
from django.db import connection, transaction
from django.db.models import Count, Q
from django.utils import timezone
from kombu import Exchange, Queue

from housing.factories import LandlordFactory
from housing.models import Property, PropertyTypeChoices, Residence, ResidenceSourceChoices, Unit
from patrol.models import PropertyRating
from patrol.tasks import rating_recalculate_all
from persons.factories import PersonFactory
from persons.models import Person
from registry.factories import CommunityFactory, DistrictFactory, StationFactory
from registry.models import TaskRun

from .conftest import wait_for_backends_gone

RUN = "kill-test"
BEFORE = "before-kill-test"
PROPERTIES = int(os.environ.get("KILL_TEST_PROPERTIES", "300"))
BATCH = int(os.environ.get("KILL_TEST_BATCH_SIZE", "10"))
ROW_DELAY = float(os.environ.get("KILL_TEST_ROW_DELAY", "0.01"))
VISIBILITY_TIMEOUT = int(os.environ.get("KILL_TEST_VISIBILITY_TIMEOUT", "5"))
TIMEOUT = float(os.environ.get("KILL_TEST_TIMEOUT", "120"))

SLOW_FUNCTION = "integration_kill_test_slow_rating"


def make_properties(n: int) -> list[int]:
    """n properties with units and residences (bulk inserts; the audit trail is not what is tested here)."""
    rng = random.Random(5)
    today = datetime.date.today()
    station = StationFactory(district=DistrictFactory(code="DK", name="测试区"), code="SK", name="测试派出所")
    community = CommunityFactory(station=station, code="CK1", name="测试社区")
    landlord = LandlordFactory(station=station)
    properties = Property.objects.bulk_create([
        Property(address=f"测试路{i + 1}号", property_type=PropertyTypeChoices.RESIDENTIAL_FLAT, community=community,
                 station=station, landlord=landlord,
                 agreement_signed_on=today - datetime.timedelta(days=400) if i % 3 else None)
        for i in range(n)])
    units = Unit.objects.bulk_create([
        Unit(property=prop, label=f"{k + 1}01室", capacity=rng.choice([1, 2, 4]))
        for prop in properties for k in range(1 + prop.pk % 2)])
    homes = [unit for unit in units if rng.random() < 0.3]  # about one unit in three is lived in
    persons = []
    for _home in homes:
        person = PersonFactory.build(registered_station=station)
        person.sync_document_columns()
        person.sync_name_columns()
        persons.append(person)
    residences = []
    for unit, person in zip(homes, Person.objects.bulk_create(persons), strict=True):
        start = today - datetime.timedelta(days=rng.randrange(1, 600))
        residences.append(Residence(
            person=person, unit=unit, station=station, start_date=start, reason="work",
            source=ResidenceSourceChoices.DESK, status=rng.choice(["active", "active", "unconfirmed"]),
            reported_on=start + datetime.timedelta(days=rng.randrange(0, 6)),
            next_verification_due=today + datetime.timedelta(days=rng.randrange(-60, 90))))
    Residence.objects.bulk_create(residences)
    return sorted(p.pk for p in properties)


def install_slow_batches(delay: float) -> None:
    """Make each batch of the run slow *inside its transaction* (test database only; dropped afterwards)."""
    with connection.cursor() as cursor:
        cursor.execute(f"""
            CREATE OR REPLACE FUNCTION {SLOW_FUNCTION}() RETURNS trigger LANGUAGE plpgsql AS $$
            BEGIN PERFORM pg_sleep({float(delay)}); RETURN NULL; END $$""")
        cursor.execute(f"DROP TRIGGER IF EXISTS {SLOW_FUNCTION} ON patrol_propertyrating")
        cursor.execute(f"""
            CREATE TRIGGER {SLOW_FUNCTION} AFTER INSERT ON patrol_propertyrating
            FOR EACH ROW WHEN (NEW.run = '{RUN}') EXECUTE FUNCTION {SLOW_FUNCTION}()""")


def remove_slow_batches() -> None:
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SET LOCAL lock_timeout = '20s'")
        cursor.execute(f"DROP TRIGGER IF EXISTS {SLOW_FUNCTION} ON patrol_propertyrating")
        cursor.execute(f"DROP FUNCTION IF EXISTS {SLOW_FUNCTION}()")


class Observer:
    """Polls the ratings; every poll is one statement, so one consistent snapshot of committed data."""

    def __init__(self, n: int, batch: int):
        self.n, self.batch = n, batch
        self.whole = {k * batch for k in range(n // batch + 1)} | {n}
        self.seen: list[int] = []
        self.seen_at: list[float] = []

    def poll(self) -> int:
        s = PropertyRating.objects.aggregate(
            n_current=Count("pk", filter=Q(is_current=True)),
            n_current_properties=Count("property", filter=Q(is_current=True), distinct=True),
            n_run=Count("pk", filter=Q(run=RUN)),
            n_run_current=Count("pk", filter=Q(run=RUN, is_current=True)),
            n_before=Count("pk", filter=Q(run=BEFORE)),
            n_before_current=Count("pk", filter=Q(run=BEFORE, is_current=True)),
        )
        rated = s["n_run"]
        where = f"after {len(self.seen)} polls, counts so far {self.summary()}: {s}"
        assert s["n_current"] == s["n_current_properties"] == self.n, f"not exactly one current rating each, {where}"
        assert rated in self.whole, f"half a batch of {self.batch} is visible, {where}"
        assert s["n_run_current"] == rated, f"a rating of the run is not current, {where}"
        assert s["n_before"] == self.n, f"an old snapshot was deleted, {where}"
        assert s["n_before_current"] == self.n - rated, f"old snapshots not retired with their batch, {where}"
        assert not self.seen or rated >= self.seen[-1], f"ratings of the run disappeared, {where}"
        if not self.seen or self.seen[-1] != rated:
            self.seen.append(rated)
            self.seen_at.append(time.monotonic())
        return rated

    def batch_seconds(self) -> float:
        """How long the run's batches have taken so far, on average."""
        changes = self.seen_at[-1] - self.seen_at[1] if len(self.seen) > 2 else 0.0
        return changes / (len(self.seen) - 2) if len(self.seen) > 2 else 0.0

    def summary(self) -> str:
        return " → ".join(map(str, self.seen))


def task_runs(since: datetime.datetime) -> list[tuple[str, int]]:
    return list(TaskRun.objects.filter(task="rating_recalculate_all", started_at__gte=since).order_by("started_at")
                .values_list("status", "rows_changed"))


def open_transactions(application_name: str) -> list[str]:
    """Statements of this worker's sessions that are inside a transaction right now."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT left(query, 60) FROM pg_stat_activity WHERE application_name = %s "
                       "AND xact_start IS NOT NULL", [application_name])
        return [row[0] for row in cursor.fetchall()]


def run_ratings() -> dict[int, tuple[int, datetime.datetime]]:
    return {pid: (pk, at) for pid, pk, at in
            PropertyRating.objects.filter(run=RUN).values_list("property_id", "pk", "computed_at")}


@pytest.mark.integration
@pytest.mark.django_db(transaction=True)
def test_killed_worker_run_is_resumed_by_a_new_worker(redis_broker, celery_workers):
    started = time.monotonic()
    deadline = started + TIMEOUT
    broker_url, redis = redis_broker
    n = PROPERTIES
    assert n > 3 * BATCH, "KILL_TEST_PROPERTIES must give several batches"
    observer = Observer(n, BATCH)
    timeline = []

    def mark(event: str) -> None:
        timeline.append(f"{event} {time.monotonic() - started:.1f}s")

    def remaining() -> float:
        left = deadline - time.monotonic()
        assert left > 0, f"scenario took more than {TIMEOUT:.0f}s; ratings of the run seen: {observer.summary()}"
        return left

    since = timezone.now()
    property_ids = make_properties(n)
    # A previous nightly run: every property has one current snapshot that the run has to retire.
    yesterday = timezone.now() - datetime.timedelta(days=1)
    PropertyRating.objects.bulk_create(
        [PropertyRating(property_id=pid, computed_at=yesterday, run=BEFORE, is_current=True) for pid in property_ids])
    celery_workers.env_overrides["CELERY_VISIBILITY_TIMEOUT"] = str(VISIBILITY_TIMEOUT)
    install_slow_batches(ROW_DELAY)
    try:
        observer.poll()
        mark("data ready")
        first = celery_workers.start("first")
        # Enqueue through the broker the workers use (the suite's own app runs tasks eagerly).
        # (An explicit connection: Celery would prefer the CELERY_BROKER_URL environment variable.)
        producer = Celery("kill-test-producer", set_as_current=False)
        producer.conf.update(task_serializer="json", accept_content=["json"])
        with producer.connection_for_write(broker_url) as broker:
            queue = Queue("celery", Exchange("celery", type="direct"), routing_key="celery")
            queue.bind(broker.default_channel).declare()
            task_id = producer.send_task(rating_recalculate_all.name, kwargs={"run": RUN, "batch_size": BATCH},
                                         queue="celery", connection=broker).id
        assert redis.llen("celery") == 1, "the task was not queued on the test's Redis database"
        producer.close()

        # 1. Let the first worker commit some batches, not all, then SIGKILL its whole process group.
        kill_at = BATCH * max(1, n // BATCH // 5)
        while observer.poll() < 1:
            assert first.alive, "the first worker died on its own"
            remaining()
            time.sleep(0.02)
        mark("first batch committed")
        while observer.poll() < kill_at:
            assert first.alive, "the first worker died on its own"
            remaining()
            time.sleep(0.02)
        # Aim at the middle of the next batch, so the kill usually lands inside its transaction.
        time.sleep(min(max(observer.batch_seconds() / 2, 0.01), 2.0))
        first_sessions = f"{celery_workers.application_prefix}first"
        in_flight = open_transactions(first_sessions)  # a batch's transaction open just before the kill?
        first.kill()
        mark("killed")
        assert observer.seen[-1] < n, f"the run ended before the kill ({observer.summary()}); raise KILL_TEST_ROW_DELAY"
        # The server rolls back the batch that was in flight when its session ends.
        assert wait_for_backends_gone(first_sessions, timeout=min(remaining(), 30)), \
            "the killed worker's database session stays"
        observer.poll()
        committed = run_ratings()
        assert 0 < len(committed) < n and len(committed) % BATCH == 0, observer.summary()
        assert task_runs(since) == [("running", 0)]

        # The message was never acknowledged (acks_late): it waits in Redis' unacknowledged set.
        assert redis.hlen("unacked") == 1 and redis.llen("celery") == 0, "the killed task is not waiting unacknowledged"
        ((_tag, delivered_at),) = redis.zrange("unacked_index", 0, -1, withscores=True)

        # 2. A new worker. kombu restores unacknowledged messages older than the visibility timeout when a
        #    worker starts (its later sweeps come only every ~100 s), so start it once the timeout has passed.
        while time.time() < delivered_at + VISIBILITY_TIMEOUT + 0.5:
            observer.poll()  # nothing moves meanwhile
            remaining()
            time.sleep(0.1)
        second = celery_workers.start("second")
        mark("second worker started")
        while observer.poll() < n or task_runs(since)[-1][0] != "ok":
            assert second.alive, "the second worker died"
            remaining()
            time.sleep(0.05)
        while redis.hlen("unacked") or f"[{task_id}] succeeded" not in second.log():  # acknowledged after success
            remaining()
            time.sleep(0.05)
        mark("run finished")
        second.stop()
    finally:
        try:
            celery_workers.stop_all()
        finally:
            remove_slow_batches()
    elapsed = time.monotonic() - started

    # Redelivered once and finished by the second worker, which resumed the run instead of redoing it.
    assert redis.llen("celery") == 0
    assert f"[{task_id}] succeeded" not in first.log()
    assert task_runs(since) == [("running", 0), ("ok", n - len(committed))]

    # Every property: exactly one current rating, from the run; the old snapshots all retired, none lost.
    current = defaultdict(list)
    for pid, run in PropertyRating.objects.filter(is_current=True).values_list("property_id", "run"):
        current[pid].append(run)
    assert sorted(current) == property_ids
    assert all(found == [RUN] for found in current.values())
    assert PropertyRating.objects.filter(run=RUN).count() == n  # none rated twice
    assert PropertyRating.objects.filter(run=BEFORE, is_current=False).count() == n

    # The killed worker's committed batches are intact: the very same rows.
    final = run_ratings()
    assert {pid: final[pid] for pid in committed} == committed

    # Whole batches: each batch shares its computed_at; in order they are consecutive slices of the properties.
    batches = defaultdict(list)
    for pid, (_pk, at) in final.items():
        batches[at].append(pid)
    ordered = [sorted(batches[at]) for at in sorted(batches)]
    assert [pid for batch in ordered for pid in batch] == property_ids
    assert all(len(batch) == BATCH for batch in ordered[:-1]) and 0 < len(ordered[-1]) <= BATCH
    print(f"\n{n} properties, batches of {BATCH}: killed with {len(committed)} rated "
          f"({'inside a batch' if in_flight else 'between batches'}), resumed by a new worker; "
          f"ratings of the run seen: {observer.summary()}; scenario {elapsed:.1f}s: {', '.join(timeline)}")

