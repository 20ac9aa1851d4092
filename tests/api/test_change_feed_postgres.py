"""The change feed under concurrent writers, on PostgreSQL: complete, ordered, and free of rollbacks.

Writer threads (each with its own database connection) create and update units and start and end
residences in transactions of varying lengths; some transactions roll back on purpose. One writer
opens a long transaction that inserts its change first (so its feed row has the lowest id) and commits
only after the reader has already paged past the positions of changes committed later. Station B gets
writes too. Two readers keep a cursor each: station A's staff user through ``GET /api/v1/changes/``
(small pages), and an administrator calling ``changes_sequence()`` + ``changes_visible_to()`` directly,
so the sequencer also runs concurrently with itself.

At the end every committed change has been seen exactly once by the reader whose scope covers it,
no rolled-back write ever appears, cursors only increase, versions of one object never go back, and
the long transaction's changes arrived after positions the reader had already passed.
"""

import random
import threading
import time
from collections import Counter, defaultdict

import pytest
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from rest_framework.test import APIClient

from housing.factories import PropertyFactory, UnitFactory
from housing.models import Residence, Unit
from housing.services import residence_end, residence_start
from persons.factories import PersonFactory
from registry.changes import changes_sequence, changes_visible_to
from registry.factories import CommunityFactory
from registry.models import ChangeLog
from registry.services import versioned_save

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

SHORT_WRITERS = 3
ROUNDS = 20
PAGE = 5


class Rollback(Exception):
    pass


class Ledger:
    """What the writers committed and what they rolled back, as feed entries (type, id, action, version)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.committed = []
        self.rolled_back_ids = set()
        self.errors = []

    def commit(self, *entries):
        with self.lock:
            self.committed.extend(entries)

    def roll_back(self, *refs):
        with self.lock:
            self.rolled_back_ids.update(refs)


def _unit_entry(unit, action):
    return ("housing.unit", str(unit.pk), action, unit.version)


def _residence_entry(residence, action):
    return ("housing.residence", str(residence.pk), action, residence.version)


def _in_thread(ledger, body):
    def run():
        try:
            body()
        except Exception as exc:  # reported by the test, which fails on any thread's error
            ledger.errors.append(repr(exc))
        finally:
            connection.close()

    return threading.Thread(target=run, daemon=True)


def _short_writer(ledger, prop, persons, n, seed):
    rng = random.Random(seed)

    def body():
        units = []
        for i in range(ROUNDS):
            kinds = ["create", "update", "residence"] if persons else ["create", "update"]
            kind = rng.choice(kinds if units else ["create"])
            roll_back = rng.random() < 0.25
            try:
                with transaction.atomic():
                    if kind == "create":
                        unit = Unit.objects.create(property=prop, label=f"w{n}-{i}", capacity=2)
                        entries = [_unit_entry(unit, "create")]
                        if roll_back:
                            ledger.roll_back(("housing.unit", str(unit.pk)))
                    elif kind == "update":
                        unit = Unit.objects.get(pk=rng.choice(units).pk)
                        unit.capacity += 1
                        versioned_save(unit, expected_version=None, fields=["capacity"])
                        entries = [_unit_entry(unit, "update")]
                    else:
                        person = persons[i % len(persons)]
                        current = Residence.objects.filter(person=person, status="active").first()
                        if current is None:
                            residence = residence_start(person=person, unit=rng.choice(units),
                                                        start_date=timezone.localdate(), reason="work")
                            entries = [_residence_entry(residence, "create")]
                            if roll_back:
                                ledger.roll_back(("housing.residence", str(residence.pk)))
                        else:
                            residence_end(residence=current, end_date=timezone.localdate())
                            entries = [_residence_entry(current, "update")]
                    time.sleep(rng.uniform(0, 0.03))  # transactions of varying lengths
                    if roll_back:
                        raise Rollback
            except Rollback:
                continue
            ledger.commit(*entries)
            if kind == "create":
                units.append(unit)

    return body


def _long_writer(ledger, prop, inserted, release, state):
    def body():
        with transaction.atomic():
            unit = Unit.objects.create(property=prop, label="long", capacity=3)
            state["changelog_id"] = ChangeLog.objects.get(object_type="housing.unit", object_id=str(unit.pk)).pk
            inserted.set()
            if not release.wait(timeout=60):
                raise AssertionError("the reader never released the long transaction")
            unit.capacity = 4
            versioned_save(unit, expected_version=None, fields=["capacity"])
            entries = [("housing.unit", str(unit.pk), "create", 1), _unit_entry(unit, "update")]
        ledger.commit(*entries)
        state["unit"] = str(unit.pk)

    return body


class Reader:
    """Keeps a cursor and everything it was given, checking order as it goes."""

    def __init__(self, start):
        self.cursor = start
        self.seen = []  # (cursor, type, id, action, version)

    def take(self, results):
        for row in results:
            assert row["cursor"] > self.cursor, f"cursor went back: {row['cursor']} after {self.cursor}"
            self.cursor = row["cursor"]
            self.seen.append((row["cursor"], row["type"], row["id"], row["action"], row["version"]))


def _api_poll(client, reader):
    while True:
        response = client.get("/api/v1/changes/", {"after": reader.cursor, "limit": PAGE})
        assert response.status_code == 200, response.content[:300]
        page = response.json()
        reader.take(page["results"])
        assert page["next_cursor"] == reader.cursor
        if not page["has_more"]:
            return


def _direct_poll(user, reader):
    changes_sequence()
    rows = changes_visible_to(user).filter(seq__gt=reader.cursor)[:PAGE * 3]
    reader.take([{"cursor": r.seq, "type": r.object_type, "id": r.object_id, "action": r.action,
                  "version": r.version} for r in rows])


def _top():
    return ChangeLog.objects.aggregate(top=Max("seq"))["top"] or 0


def _check(reader, expected, ledger, label):
    entries = [s[1:] for s in reader.seen]
    duplicates = [e for e, n in Counter(entries).items() if n > 1]
    assert not duplicates, f"{label}: seen more than once: {duplicates}"
    assert not set(expected) - set(entries), f"{label}: committed but never seen: {set(expected) - set(entries)}"
    assert not set(entries) - set(expected), f"{label}: seen but never committed: {set(entries) - set(expected)}"
    assert not {(t, i) for t, i, _a, _v in entries} & ledger.rolled_back_ids, f"{label}: a rolled-back write"
    versions = defaultdict(list)
    for _cursor, kind, pk, _action, version in reader.seen:
        versions[(kind, pk)].append(version)
    for ref, seq in versions.items():
        assert seq == sorted(seq), f"{label}: versions of {ref} went back: {seq}"


def test_change_feed_is_complete_and_ordered_under_concurrent_writers(station_a, station_b, staff_a, admin_user):
    community_a = CommunityFactory(station=station_a)
    community_b = CommunityFactory(station=station_b)
    prop_a = PropertyFactory(community=community_a)
    prop_b = PropertyFactory(community=community_b)
    UnitFactory(property=prop_a, label="seed")
    persons = [PersonFactory(registered_station=station_a) for _ in range(6)]
    changes_sequence()
    head = _top()

    ledger = Ledger()
    inserted, release, done = threading.Event(), threading.Event(), threading.Event()
    state = {}
    long_thread = _in_thread(ledger, _long_writer(ledger, prop_a, inserted, release, state))
    long_thread.start()
    assert inserted.wait(timeout=30), ledger.errors
    writers = [_in_thread(ledger, _short_writer(ledger, prop_a, persons[n::SHORT_WRITERS], n, seed=n))
               for n in range(SHORT_WRITERS)]
    writers.append(_in_thread(ledger, _short_writer(ledger, prop_b, [], "b", seed=99)))
    admin_reader = Reader(head)

    def admin_loop():
        while not done.is_set():
            _direct_poll(admin_user, admin_reader)
            time.sleep(0.005)

    admin_thread = _in_thread(ledger, admin_loop)
    for thread in [*writers, admin_thread]:
        thread.start()

    client = APIClient()
    client.force_authenticate(staff_a)
    reader = Reader(head)
    cursor_at_release = None
    deadline = time.monotonic() + 120
    while any(t.is_alive() for t in writers):
        assert time.monotonic() < deadline, "writers did not finish"
        _api_poll(client, reader)
        if cursor_at_release is None and len(reader.seen) >= 10:
            cursor_at_release = reader.cursor  # the reader has passed changes committed after "long" began
            release.set()
        time.sleep(0.002)
    if cursor_at_release is None:  # the writers were quicker than the reader: it passes them all first
        _api_poll(client, reader)
        cursor_at_release = reader.cursor
        release.set()
    for thread in [*writers, long_thread]:
        thread.join(timeout=60)
    done.set()
    admin_thread.join(timeout=60)
    _api_poll(client, reader)
    _direct_poll(admin_user, admin_reader)
    _direct_poll(admin_user, admin_reader)  # a page holds PAGE * 3 rows; drain whatever is left
    while admin_reader.cursor < _top():
        _direct_poll(admin_user, admin_reader)
    assert not ledger.errors, ledger.errors

    in_a = {e for e in ledger.committed if _station_of(e) == station_a.pk}
    _check(reader, in_a, ledger, "staff A over the API")
    _check(admin_reader, set(ledger.committed), ledger, "administrator, direct")
    assert in_a != set(ledger.committed), "station B was written too, and staff A must not see it"

    # The long transaction inserted its row before everything else and committed after the reader had
    # passed later positions: the feed still gave it to the reader, at a position after that point.
    long_seen = [s for s in reader.seen if s[1] == "housing.unit" and s[2] == state["unit"]]
    assert [s[3] for s in long_seen] == ["create", "update"]
    assert all(cursor > cursor_at_release for cursor, *_ in long_seen)
    passed_ids = ChangeLog.objects.filter(seq__lte=cursor_at_release, seq__gt=head).values_list("id", flat=True)
    assert passed_ids and min(passed_ids) > state["changelog_id"], "the long change was not inserted first"


def _station_of(entry):
    kind, pk, _action, _version = entry
    if kind == "housing.unit":
        return Unit.objects.values_list("property__station_id", flat=True).get(pk=pk)
    return Residence.objects.values_list("station_id", flat=True).get(pk=pk)
