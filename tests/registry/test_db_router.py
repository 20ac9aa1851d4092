"""The replica router's decisions (registry/db_router.py, issue 19), with the replica's health faked: they run
on SQLite as on PostgreSQL. The real standby is tests/integration/test_replica.py."""

import json
import logging
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import DEFAULT_DB_ALIAS, OperationalError, connection, transaction
from django.http import StreamingHttpResponse
from django.test import RequestFactory
from django.urls import reverse
from qsessions.models import Session

from persons.models import Person
from registry import db_router
from registry.db_router import (
    REPLICA,
    ReplicaHealth,
    ReplicaProbe,
    ReplicaRouter,
    ReplicaWriteMarkerMiddleware,
    note_write,
    reads_from_replica,
    replica_dispatch,
    wrote_recently,
)
from registry.models import AuditEvent
from registry.settings import postgres_options

ROOT = Path(__file__).resolve().parents[2]
HEALTHY = ReplicaHealth(True, "", 0.0)


class FakeClock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


class FakeMeasure:
    """The replica's answers, in turn; an exception is raised."""

    def __init__(self, *answers):
        self.answers, self.calls = list(answers), 0

    def __call__(self):
        self.calls += 1
        answer = self.answers[min(self.calls, len(self.answers)) - 1]
        if isinstance(answer, Exception):
            raise answer
        return answer


def router(*answers, wrote=False, connect=lambda: None, clock=None):
    probe = ReplicaProbe(measure=FakeMeasure(*(answers or (HEALTHY,))), clock=clock or FakeClock())
    return ReplicaRouter(probe=probe, wrote_recently=lambda user_id: wrote, configured=lambda: True,
                         connect=connect)


class User:
    pk = 7
    is_authenticated = True


# --- opt-in only, writes always to the primary ------------------------------------------------------------

def test_reads_outside_an_opt_in_go_to_the_primary_even_with_a_healthy_replica():
    assert router().db_for_read(Person) == DEFAULT_DB_ALIAS


def test_reads_inside_an_opt_in_go_to_a_healthy_replica():
    with reads_from_replica(User()):
        assert router().db_for_read(Person) == REPLICA


def test_writes_always_go_to_the_primary_inside_an_opt_in_too():
    route = router()
    assert route.db_for_write(AuditEvent) == DEFAULT_DB_ALIAS
    with reads_from_replica(User()):
        assert route.db_for_read(Person) == REPLICA
        assert route.db_for_write(AuditEvent) == DEFAULT_DB_ALIAS
        assert route.db_for_write(Person) == DEFAULT_DB_ALIAS


def test_without_a_replica_configured_reads_stay_on_the_primary():
    route = ReplicaRouter(probe=ReplicaProbe(measure=FakeMeasure(HEALTHY)), wrote_recently=lambda user_id: False,
                          configured=lambda: False, connect=lambda: None)
    with reads_from_replica(User()):
        assert route.db_for_read(Person) == DEFAULT_DB_ALIAS


def test_sessions_are_read_from_the_primary_inside_an_opt_in():
    with reads_from_replica(User()):
        assert router().db_for_read(Session) == DEFAULT_DB_ALIAS


@pytest.mark.django_db
def test_reads_inside_a_primary_transaction_stay_on_the_primary():
    """A check before a write (select_for_update, a version check) reads what it is about to change."""
    route = router()
    with reads_from_replica(User()):
        with transaction.atomic():
            assert route.db_for_read(Person) == DEFAULT_DB_ALIAS


def test_only_the_primary_is_migrated():
    route = router()
    assert route.allow_migrate(DEFAULT_DB_ALIAS, "persons") is True
    assert route.allow_migrate(REPLICA, "persons") is False


def test_one_page_reads_from_one_server_even_if_the_replica_falls_behind_meanwhile():
    clock = FakeClock()
    route = router(HEALTHY, ReplicaHealth(False, "it lags 9.0 s", 9.0), clock=clock)
    with reads_from_replica(User()):
        assert route.db_for_read(Person) == REPLICA
        clock.now += 60
        assert route.db_for_read(Person) == REPLICA
    with reads_from_replica(User()):  # the next page asks again
        assert route.db_for_read(Person) == DEFAULT_DB_ALIAS


# --- read-your-writes -----------------------------------------------------------------------------------

def test_a_user_who_just_wrote_reads_from_the_primary():
    with reads_from_replica(User()):
        assert router(wrote=True).db_for_read(Person) == DEFAULT_DB_ALIAS


def test_the_write_window_follows_the_setting(settings):
    settings.REGISTRY = {**settings.REGISTRY, "REPLICA_READ_YOUR_WRITES_SECONDS": 5, "REPLICA_MAX_LAG_SECONDS": 2,
                         "REPLICA_PROBE_SECONDS": 2}
    now = time.time()
    note_write(7, now=now)
    assert wrote_recently(7, now=now + 4.9)
    assert not wrote_recently(7, now=now + 5.1)
    assert not wrote_recently(8, now=now + 1)
    assert not wrote_recently(None, now=now)


def test_the_write_window_is_never_shorter_than_the_stalest_replica_allowed(settings):
    """A replica up to 10 s behind, measured up to 3 s ago, may not have a write of 12 s ago yet."""
    settings.REGISTRY = {**settings.REGISTRY, "REPLICA_READ_YOUR_WRITES_SECONDS": 1, "REPLICA_MAX_LAG_SECONDS": 10,
                         "REPLICA_PROBE_SECONDS": 3}
    now = time.time()
    note_write(7, now=now)
    assert wrote_recently(7, now=now + 12.5)
    assert not wrote_recently(7, now=now + 13.5)


def test_the_router_reads_the_write_marks_of_the_scopes_user():
    route = ReplicaRouter(probe=ReplicaProbe(measure=FakeMeasure(HEALTHY)), configured=lambda: True,
                          connect=lambda: None)
    with reads_from_replica(User()):
        assert route.db_for_read(Person) == REPLICA
    note_write(User.pk)
    with reads_from_replica(User()):
        assert route.db_for_read(Person) == DEFAULT_DB_ALIAS
    with reads_from_replica(None):  # anonymous: nothing to remember
        assert route.db_for_read(Person) == REPLICA


def test_a_cache_that_does_not_answer_sends_reads_to_the_primary(monkeypatch):
    def broken(*args, **kwargs):
        raise ConnectionError("cache down")

    monkeypatch.setattr(db_router.cache, "get", broken)
    monkeypatch.setattr(db_router.cache, "set", broken)
    note_write(7)  # does not raise: the write itself succeeded
    assert wrote_recently(7)


def _respond(method: str, user, status=200):
    from django.http import HttpResponse

    request = getattr(RequestFactory(), method.lower())("/somewhere/")
    request.user = user
    return ReplicaWriteMarkerMiddleware(lambda request: HttpResponse(status=status))(request)


def test_the_middleware_notes_write_requests_of_signed_in_users_only():
    from django.contrib.auth.models import AnonymousUser

    _respond("GET", User())
    assert not wrote_recently(User.pk)
    _respond("POST", AnonymousUser())
    assert not wrote_recently(None)
    _respond("POST", User(), status=400)  # a refused form may still have written (its audit event, a counter)
    assert wrote_recently(User.pk)


# --- lag and availability -------------------------------------------------------------------------------

def test_a_lagging_replica_is_skipped():
    with reads_from_replica(User()):
        lagging = ReplicaHealth(False, "it lags 9.0 s (more than 2 s)", 9.0)
        assert router(lagging).db_for_read(Person) == DEFAULT_DB_ALIAS


def test_a_replica_that_refuses_connections_is_skipped_and_logged_once(caplog):
    clock = FakeClock()
    route = router(OperationalError("connection refused"), clock=clock)
    with caplog.at_level(logging.INFO, logger="registry.db_router"):
        for _ in range(3):
            with reads_from_replica(User()):
                assert route.db_for_read(Person) == DEFAULT_DB_ALIAS
            clock.now += 10  # measured afresh each time
    assert route.probe.measure.calls == 3
    warnings = [r for r in caplog.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    assert "connection refused" in warnings[0].getMessage()


def test_a_replica_back_up_is_used_again_and_that_is_logged(caplog):
    clock = FakeClock()
    route = router(OperationalError("connection refused"), HEALTHY, clock=clock)
    with caplog.at_level(logging.INFO, logger="registry.db_router"):
        with reads_from_replica(User()):
            assert route.db_for_read(Person) == DEFAULT_DB_ALIAS
        clock.now += 10
        with reads_from_replica(User()):
            assert route.db_for_read(Person) == REPLICA
    assert [r.levelno for r in caplog.records] == [logging.WARNING, logging.INFO]


def test_the_probe_measures_at_most_once_per_interval(settings):
    settings.REGISTRY = {**settings.REGISTRY, "REPLICA_PROBE_SECONDS": 2}
    clock = FakeClock()
    route = router(HEALTHY, clock=clock)
    for _ in range(5):
        with reads_from_replica(User()):
            route.db_for_read(Person)
    clock.now += 2.5
    with reads_from_replica(User()):
        route.db_for_read(Person)
    assert route.probe.measure.calls == 2


def test_a_connection_that_fails_after_a_healthy_probe_sends_the_page_to_the_primary(caplog):
    """The standby stopped since it was last measured: this page and the next ones read from the primary."""
    def refused():
        raise OperationalError("connection refused")

    route = router(HEALTHY, connect=refused)
    with caplog.at_level(logging.WARNING, logger="registry.db_router"):
        with reads_from_replica(User()):
            assert route.db_for_read(Person) == DEFAULT_DB_ALIAS
        with reads_from_replica(User()):
            assert route.db_for_read(Person) == DEFAULT_DB_ALIAS
    assert route.probe.measure.calls == 1
    assert len(caplog.records) == 1


def test_an_unexpected_failure_of_the_probe_never_breaks_a_page():
    with reads_from_replica(User()):
        assert router(RuntimeError("anything")).db_for_read(Person) == DEFAULT_DB_ALIAS


# --- the opt-in on views --------------------------------------------------------------------------------

def test_only_safe_requests_enter_the_scope():
    seen = []
    for method in ("get", "head", "post"):
        request = getattr(RequestFactory(), method)("/x/")
        request.user = User()
        replica_dispatch(request, lambda: seen.append(db_router.in_replica_scope()))
    assert seen == [True, True, False]


def test_a_streamed_response_is_read_in_the_pages_scope():
    def chunks():
        for _ in range(3):
            yield str(db_router.in_replica_scope())

    request = RequestFactory().get("/x.csv")
    request.user = User()
    response = replica_dispatch(request, lambda: StreamingHttpResponse(chunks()))
    assert not db_router.in_replica_scope()
    assert b"".join(response.streaming_content) == b"TrueTrueTrue"
    assert not db_router.in_replica_scope()


def _queries_in_scope(client, method, url, data=None):
    """For each SELECT the request ran: was it inside the replica scope?"""
    scopes = []

    def spy(execute, sql, params, many, context):
        if sql.lstrip().upper().startswith("SELECT"):
            scopes.append(db_router.in_replica_scope())
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        response = getattr(client, method)(url, data or {})
        if getattr(response, "streaming", False):
            b"".join(response.streaming_content)
    return response, scopes


@pytest.mark.django_db
@pytest.mark.parametrize("url", [
    reverse("dashboard"), reverse("audit"), reverse("persons:person_list"), reverse("exports:export", args=["persons"]),
    reverse("exports:download", args=["persons", "csv"]), reverse("audit_export", args=["csv"]),
])
def test_dashboards_exports_audit_and_lists_opt_in(client, supervisor, station_a, url):
    client.force_login(supervisor)
    response, scopes = _queries_in_scope(client, "get", url)
    assert response.status_code == 200
    assert scopes and any(scopes)


@pytest.mark.django_db
def test_a_page_without_the_opt_in_reads_from_the_primary(client, supervisor, station_a):
    client.force_login(supervisor)
    response, scopes = _queries_in_scope(client, "get", reverse("home"))
    assert response.status_code == 200
    assert scopes and not any(scopes)


@pytest.mark.django_db
def test_an_unmasked_export_posts_and_reads_from_the_primary(client, supervisor, station_a):
    client.force_login(supervisor)
    _response, scopes = _queries_in_scope(client, "post", reverse("exports:download", args=["persons", "csv"]),
                                          {"reason": "letter 2026-17 from the district office"})
    assert scopes and not any(scopes)


# --- the settings produced ------------------------------------------------------------------------------

def _settings_with(env: dict) -> dict:
    """DATABASES, DATABASE_ROUTERS and the middleware as registry/settings.py makes them from this environment."""
    code = ("import json, django; django.setup(); from django.conf import settings as s; "
            "print(json.dumps({'DATABASES': s.DATABASES, 'ROUTERS': s.DATABASE_ROUTERS, "
            "'MIDDLEWARE': s.MIDDLEWARE}, default=str))")
    keep = {k: v for k, v in os.environ.items()
            if not k.startswith(("DATABASE_", "REGISTRY_PGBOUNCER")) and k != "DJANGO_SETTINGS_MODULE"}
    result = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=True,
                            env={**keep, "DJANGO_SETTINGS_MODULE": "registry.settings", **env})
    return json.loads(result.stdout.strip().splitlines()[-1])


PRIMARY = "postgres://registry_app:pw@pgbouncer:6432/registry"
REPLICA_URL = "postgres://registry_app:pw@pgbouncer:6432/registry_replica"


def test_settings_without_a_replica_have_no_router():
    produced = _settings_with({"DATABASE_URL": PRIMARY})
    assert list(produced["DATABASES"]) == ["default"]
    assert produced["ROUTERS"] == []
    assert "registry.db_router.ReplicaWriteMarkerMiddleware" not in produced["MIDDLEWARE"]
    assert produced["DATABASES"]["default"]["OPTIONS"] == {"options": "-c jit=off"}


def test_settings_with_a_replica_add_the_alias_the_router_and_the_write_marker():
    produced = _settings_with({"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA_URL})
    replica = produced["DATABASES"]["replica"]
    assert (replica["HOST"], replica["PORT"], replica["NAME"]) == ("pgbouncer", 6432, "registry_replica")
    assert replica["TEST"]["MIRROR"] == "default"
    assert replica["OPTIONS"]["connect_timeout"] == 2
    assert replica["CONN_HEALTH_CHECKS"] is True
    assert produced["ROUTERS"] == ["registry.db_router.ReplicaRouter"]
    middleware = produced["MIDDLEWARE"]
    assert middleware.index("registry.db_router.ReplicaWriteMarkerMiddleware") == \
        middleware.index("django.contrib.auth.middleware.AuthenticationMiddleware") + 1


def test_settings_behind_pgbouncer_keep_no_session_state_on_either_alias():
    """Transaction pooling: no server-side cursors, no `options` startup parameter (PgBouncer refuses it;
    jit=off becomes the role's default, docs/deployment.md)."""
    produced = _settings_with({"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": REPLICA_URL,
                               "REGISTRY_PGBOUNCER": "1", "DB_CONN_MAX_AGE": "300"})
    for alias in ("default", "replica"):
        database = produced["DATABASES"][alias]
        assert database["DISABLE_SERVER_SIDE_CURSORS"] is True, alias
        assert "options" not in database["OPTIONS"], alias
        assert database["CONN_MAX_AGE"] == 300, alias


def test_settings_refuse_a_replica_that_is_not_postgresql():
    with pytest.raises(subprocess.CalledProcessError) as failed:
        _settings_with({"DATABASE_URL": PRIMARY, "DATABASE_REPLICA_URL": "sqlite:////tmp/replica.sqlite3"})
    assert "DATABASE_REPLICA_URL must be a PostgreSQL URL" in failed.value.stderr


def test_postgres_options_direct_and_through_pgbouncer():
    assert postgres_options({}, pgbouncer=False) == {"OPTIONS": {"options": "-c jit=off"}}
    assert postgres_options({"OPTIONS": {"options": "-c jit=off", "sslmode": "require"}}, pgbouncer=True) == {
        "OPTIONS": {"sslmode": "require"}, "DISABLE_SERVER_SIDE_CURSORS": True}
