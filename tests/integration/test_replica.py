"""The replica router against a real streaming standby (issue 19, point 3; registry/db_router.py).

``.ci/run`` starts a standby of its PostgreSQL with ``.ci/standby.sh`` (pg_basebackup through a replication slot)
and runs the PostgreSQL pass with ``DATABASE_REPLICA_URL`` pointing at it. The standby replicates the whole
cluster, so the test database pytest-django creates on the primary is there too (the replica alias is a test
``MIRROR`` of default: same database name, the standby's host and port). The tests commit (``transaction=True``)
and wait for the standby to replay the primary's position before they read.

Skipped unless DATABASE_URL is PostgreSQL and DATABASE_REPLICA_URL is set; with ``CI`` set on PostgreSQL a
missing replica is a failure, not a skip. Test-only knobs (set by .ci/standby.sh, read here only):

* ``STANDBY_PGCTL``: pg_ctl for the standby without the action (``stop -m fast -w`` / ``start -w`` appended);
* ``STANDBY_PSQL``: psql on the standby as a superuser, to pause and resume its replay.
Without them the tests that need them are skipped (or fail under CI).
"""

import logging
import os
import shlex
import subprocess
import time

import pytest
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, router, transaction
from django.test import Client
from django.urls import reverse

from housing.factories import PropertyFactory
from housing.models import Property, PropertyTypeChoices
from registry import db_router
from registry.db_router import REPLICA, reads_from_replica
from registry.factories import make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices

# Without a replica alias the marker names the primary only: the tests then skip (or fail under CI) in _standby.
pytestmark = pytest.mark.django_db(
    transaction=True, databases=[DEFAULT_DB_ALIAS, *([REPLICA] if REPLICA in settings.DATABASES else [])])
IN_CI = bool(os.environ.get("CI"))
REPLAY_TIMEOUT = 30


def _missing() -> str | None:
    if connection.vendor != "postgresql":
        return f"a PostgreSQL DATABASE_URL (the database is {connection.vendor})"
    if REPLICA not in settings.DATABASES:
        return "DATABASE_REPLICA_URL (a streaming standby of DATABASE_URL's server; .ci/standby.sh starts one)"
    return None


def _require(what: str, reason: str | None):
    if reason is None:
        return
    message = f"{what}: needs {reason}"
    if IN_CI and connection.vendor == "postgresql":
        pytest.fail(message + " (CI is set: the PostgreSQL pass must run these tests)")
    pytest.skip(message)


@pytest.fixture(autouse=True)
def _standby():
    _require("replica tests", _missing())
    db_router.probe.reset()
    # A replica connection opened before this test (in the session's set-up, or kept by an earlier test) may have
    # been opened with the server's own database name, before the alias became the test database's mirror: the
    # first test of this file once read an empty database on the standby. Each test opens its own, on the
    # mirror's settings, and checks it (same_database below).
    connections[REPLICA].close()
    yield
    db_router.probe.reset()


def same_database() -> bool:
    """The replica alias reads the database the primary alias writes (the test database, on the standby)."""
    names = []
    for alias in (DEFAULT_DB_ALIAS, REPLICA):
        with connections[alias].cursor() as cursor:
            cursor.execute("SELECT current_database()")
            names.append(cursor.fetchone()[0])
    return names[0] == names[1]


def _command(name: str) -> list[str]:
    value = os.environ.get(name, "")
    _require("this test", None if value else f"{name} (set by .ci/standby.sh)")
    return shlex.split(value)


def wait_for_replay(timeout: float = REPLAY_TIMEOUT) -> float:
    """Poll until the standby has replayed everything committed on the primary so far; how long that took.

    CI's primary runs with synchronous_commit off, so a commit may not be written out yet, and the insert position
    may point past a page header the standby's replay position never reaches: a transaction with an xid and
    synchronous_commit on writes out everything before it, and the write position after it is a record's end."""
    started = time.monotonic()
    with transaction.atomic(using=DEFAULT_DB_ALIAS), connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = on")
        cursor.execute("SELECT txid_current()")
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    while True:
        with connections[REPLICA].cursor() as cursor:
            cursor.execute("SELECT pg_last_wal_replay_lsn() >= %s::pg_lsn", [target])
            if cursor.fetchone()[0]:
                return time.monotonic() - started
        if time.monotonic() - started > timeout:
            pytest.fail(f"the standby did not replay up to {target} in {timeout} s")
        time.sleep(0.02)


def visible_on_standby(check, timeout: float = REPLAY_TIMEOUT) -> bool:
    """Whether ``check()`` (a read on the standby) comes true within ``timeout`` seconds."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            return False
        time.sleep(0.1)
    return True


def server_of(alias: str) -> tuple[bool, int]:
    with connections[alias].cursor() as cursor:
        cursor.execute("SELECT pg_is_in_recovery(), inet_server_port()")
        return cursor.fetchone()


class ServedBy:
    """Which alias served each of the page's SELECTs while it is active."""

    def __init__(self):
        self.selects: list[str] = []
        self._wrappers = []

    def __enter__(self):
        for alias in (DEFAULT_DB_ALIAS, REPLICA):
            wrapper = connections[alias].execute_wrapper(self._spy(alias))
            wrapper.__enter__()
            self._wrappers.append(wrapper)
        return self

    def __exit__(self, *exc):
        for wrapper in reversed(self._wrappers):
            wrapper.__exit__(*exc)

    def _spy(self, alias):
        def spy(execute, sql, params, many, context):
            # The page's own reads; not the probe's questions about WAL positions.
            if sql.lstrip().upper().startswith("SELECT") and "wal_" not in sql:
                self.selects.append(alias)
            return execute(sql, params, many, context)
        return spy

    def count(self, alias: str) -> int:
        return self.selects.count(alias)


@pytest.fixture
def staff(station_a):
    return make_user(RoleChoices.STAFF, username="desk", station=station_a)


@pytest.fixture
def colleague(station_a):
    return make_user(RoleChoices.STAFF, username="colleague", station=station_a)


@pytest.fixture
def flat(community_a):
    return PropertyFactory(community=community_a, address="幸福路12号",
                           property_type=PropertyTypeChoices.RESIDENTIAL_FLAT)


def _client(user):
    client = Client()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    client.force_login(user)
    return client


def _list(client) -> tuple[str, ServedBy]:
    with ServedBy() as served:
        response = client.get(reverse("housing:property_list"))
    assert response.status_code == 200
    return response.content.decode(), served


def test_routed_reads_land_on_the_standby(flat):
    assert same_database()
    wait_for_replay()
    standby_port = int(settings.DATABASES[REPLICA]["PORT"])
    assert server_of(DEFAULT_DB_ALIAS)[0] is False
    with reads_from_replica():
        alias = router.db_for_read(Property)
        assert alias == REPLICA
        assert server_of(alias) == (True, standby_port)
        # The primary's row, replayed. Replayed is not yet visible: a standby's snapshots come from the primary's
        # running-transactions records, and after a primary transaction with many savepoints (the suite's) the
        # standby waits for the next such record (every 15 s) before it shows newer commits. Twice in CI this
        # read found nothing right after the replay. So: visible within the replay deadline, checked by polling.
        assert visible_on_standby(lambda: Property.objects.filter(address="幸福路12号").exists())
    assert router.db_for_read(Property) == DEFAULT_DB_ALIAS  # outside the opt-in


def _list_once_replica_serves(client) -> tuple[str, ServedBy]:
    """The list, once the standby serves it again (measured afresh: the probe keeps a verdict for seconds)."""
    for _ in range(20):
        db_router.probe.reset()
        page, served = _list(client)
        if served.count(REPLICA):
            break
        time.sleep(0.25)
    assert served.count(REPLICA) > 0, db_router.probe.health()
    return page, served


def test_a_list_page_reads_from_the_standby(staff, flat):
    wait_for_replay()
    page, served = _list(_client(staff))
    assert "幸福路12号" in page
    assert served.count(REPLICA) >= 2  # the count and the rows


def test_the_audit_page_reads_from_the_standby_and_records_its_reading_on_the_primary(supervisor, station_a):
    wait_for_replay()
    opened = AuditEvent.objects.filter(action=AuditAction.VIEW, object_type="registry.auditevent")
    client = _client(supervisor)
    with ServedBy() as served:
        response = client.get(reverse("audit"))
    assert response.status_code == 200
    assert served.count(REPLICA) >= 1
    assert opened.using(DEFAULT_DB_ALIAS).count() == 1


def test_a_write_is_visible_to_its_author_at_once(staff, colleague, flat, settings):
    """Replay paused on the standby: the author of a change sees it at once (from the primary); a colleague
    reads the standby, not yet changed, until it is too far behind, then the primary too."""
    psql = _command("STANDBY_PSQL")
    # A lag threshold no slow machine reaches during the first part; lowered below for the second.
    settings.REGISTRY = {**settings.REGISTRY, "REPLICA_MAX_LAG_SECONDS": 30}
    author, other = _client(staff), _client(colleague)
    wait_for_replay()
    subprocess.run([*psql, "-c", "SELECT pg_wal_replay_pause()"], check=True, capture_output=True)
    try:
        data = {"address": "幸福路14号", "property_type": flat.property_type, "community": flat.community_id,
                "landlord": flat.landlord_id or "", "employer": flat.employer_id or "", "agreement_signed_on": "",
                "version": flat.version}
        response = author.post(reverse("housing:property_edit", args=[flat.pk]), data)
        assert response.status_code == 302, response.content.decode()[:2000]

        page, served = _list(author)
        assert "幸福路14号" in page
        assert served.count(REPLICA) == 0 and served.count(DEFAULT_DB_ALIAS) > 0

        page, served = _list(other)  # within REPLICA_MAX_LAG_SECONDS of its last replay: the standby serves
        assert served.count(REPLICA) >= 2  # (the session, the user and the probe's LSN come from the primary)
        assert "幸福路12号" in page and "幸福路14号" not in page

        # Paused past the lag threshold: the standby is skipped once measured again, for everyone.
        settings.REGISTRY = {**settings.REGISTRY, "REPLICA_MAX_LAG_SECONDS": 1}
        time.sleep(1.5)
        db_router.probe.reset()
        page, served = _list(other)
        assert "幸福路14号" in page
        assert served.count(REPLICA) == 0
    finally:
        subprocess.run([*psql, "-c", "SELECT pg_wal_replay_resume()"], check=True, capture_output=True)
    wait_for_replay()
    page, _served = _list_once_replica_serves(other)
    assert "幸福路14号" in page


def test_a_stopped_standby_changes_nothing_for_users(staff, flat, caplog):
    pgctl = _command("STANDBY_PGCTL")
    user = _client(staff)
    wait_for_replay()
    _page, served = _list(user)
    assert served.count(REPLICA) > 0
    subprocess.run([*pgctl, "stop", "-m", "fast", "-w"], check=True, capture_output=True)
    try:
        with caplog.at_level(logging.WARNING, logger="registry.db_router"):
            for _ in range(3):
                page, served = _list(user)  # the persistent connection is dead, a new one refused
                assert "幸福路12号" in page
                assert served.count(REPLICA) == 0 and served.count(DEFAULT_DB_ALIAS) > 0
        warnings = [r.getMessage() for r in caplog.records if r.name == "registry.db_router"]
        assert len(warnings) == 1 and "cannot be reached" in warnings[0]
    finally:
        subprocess.run([*pgctl, "start", "-w", "-t", "60"], check=True, capture_output=True)
    wait_for_replay()
    _list_once_replica_serves(user)


def test_the_probe_measures_the_real_lag(flat):
    wait_for_replay()
    health = db_router.measure_replica()
    assert health.usable and health.lag_seconds is not None and health.lag_seconds < 1
