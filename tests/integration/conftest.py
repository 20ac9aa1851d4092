"""Integration tests against real services: PostgreSQL, Redis and Celery worker processes.

They are marked ``integration`` and skipped unless the database is PostgreSQL and the Celery
broker is Redis (``CELERY_BROKER_URL=redis://...``): the PostgreSQL + Redis pass of ``.ci/run``.
With ``CI`` set and both configured they always run; an unreachable Redis is then a failure.

Test-only knobs (environment variables read here and in the tests only, never by the app):

* ``INTEGRATION_REDIS_DB``: the Redis database number the integration tests own (default 15); it is
  emptied before and after each test so stale messages from other runs cannot interfere.
"""

import datetime
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

import pytest
import time_machine
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parents[2]


def pytest_configure(config):
    config.addinivalue_line(
        "markers",
        "integration: real PostgreSQL + Redis + Celery worker processes; skipped unless DATABASE_URL is "
        "PostgreSQL and CELERY_BROKER_URL is redis:// (the PostgreSQL + Redis pass of .ci/run)",
    )


def integration_skip_reason() -> str | None:
    """Why integration tests cannot run here, or None when they can."""
    broker = str(getattr(settings, "CELERY_BROKER_URL", "") or "")
    missing = []
    if connection.vendor != "postgresql":
        missing.append(f"PostgreSQL (database is {connection.vendor}; set DATABASE_URL=postgres://...)")
    if not broker.startswith("redis://"):
        missing.append(f"a Redis broker (CELERY_BROKER_URL is {broker.split(':', 1)[0] or 'unset'}://; "
                       "set CELERY_BROKER_URL=redis://...)")
    if missing:
        return "integration: needs " + " and ".join(missing) + "; runs in the PostgreSQL + Redis pass of .ci/run"
    return None


def pytest_collection_modifyitems(config, items):
    reason = integration_skip_reason()
    if reason is None:
        return
    skip = pytest.mark.skip(reason=reason)
    for item in items:
        if "integration" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _real_clock():
    """The worker processes these tests start run on the machine's clock, not on the suite's (tests/conftest.py),
    and the tests compare times with theirs: the test runs on the real clock too."""
    now = datetime.datetime.fromtimestamp(time_machine.escape_hatch.time.time(), tz=datetime.UTC)
    with time_machine.travel(now, tick=True):
        yield


# --- Redis ---------------------------------------------------------------------------------------

def _dedicated_broker_url(url: str, db: int) -> str:
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{db}", parts.query, parts.fragment))


@pytest.fixture
def redis_broker():
    """(broker URL, redis client) on a Redis database owned by these tests, emptied before and after."""
    import redis

    url = _dedicated_broker_url(settings.CELERY_BROKER_URL, int(os.environ.get("INTEGRATION_REDIS_DB", "15")))
    client = redis.Redis.from_url(url, socket_timeout=10, socket_connect_timeout=5)
    try:
        client.ping()
    except redis.RedisError as exc:
        message = f"Redis broker {url} is configured but not reachable: {exc!r}"
        if os.environ.get("CI"):
            pytest.fail(message)
        pytest.skip(message)
    client.flushdb()
    try:
        yield url, client
    finally:
        client.flushdb()
        client.close()


# --- the worker database ---------------------------------------------------------------------------

def worker_database_url(application_name: str) -> str:
    """DATABASE_URL of the test database pytest-django created, for a worker subprocess."""
    db = settings.DATABASES["default"]
    user = quote(str(db.get("USER") or ""), safe="")
    password = quote(str(db.get("PASSWORD") or ""), safe="")
    auth = f"{user}:{password}@" if password else (f"{user}@" if user else "")
    host = quote(str(db.get("HOST") or ""), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    options = {k: v for k, v in (db.get("OPTIONS") or {}).items() if isinstance(v, str | int)}
    options["application_name"] = application_name
    return f"postgres://{auth}{host}{port}/{quote(str(db['NAME']), safe='')}?{urlencode(options)}"


def database_backends(application_prefix: str) -> list[int]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE application_name LIKE %s AND pid <> pg_backend_pid()",
                       [application_prefix + "%"])
        return [row[0] for row in cursor.fetchall()]


def wait_for_backends_gone(application_prefix: str, timeout: float) -> bool:
    """Wait until the server has ended every session of these workers (their transactions rolled back)."""
    deadline = time.monotonic() + timeout
    while database_backends(application_prefix):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
    return True


def terminate_backends(application_prefix: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                       "WHERE application_name LIKE %s AND pid <> pg_backend_pid()", [application_prefix + "%"])


# --- Celery workers ----------------------------------------------------------------------------

def _celery_command() -> list[str]:
    celery = Path(sys.executable).with_name("celery")
    return [str(celery)] if celery.exists() else [sys.executable, "-m", "celery"]


class Worker:
    def __init__(self, name: str, process: subprocess.Popen, log_path: Path):
        self.name, self.process, self.log_path = name, process, log_path

    @property
    def alive(self) -> bool:
        return self.process.poll() is None

    def log(self) -> str:
        try:
            return self.log_path.read_text(errors="replace")
        except OSError:
            return ""

    def kill(self) -> None:
        """SIGKILL the whole process group: the main process and the pool child running the task."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait(timeout=30)

    def stop(self, timeout: float = 15) -> None:
        """Warm shutdown (SIGTERM to the group), SIGKILL if it does not end in time."""
        if self.alive:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
                self.process.wait(timeout=timeout)
            except ProcessLookupError:
                pass
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of the group (a pool child outliving its parent)
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=30)


class Workers:
    """Starts real ``celery worker`` processes on the test database; ``stop_all`` ends every one."""

    def __init__(self, broker_url: str, application_prefix: str, var_dir: Path, env_overrides: dict[str, str]):
        self.broker_url = broker_url
        self.application_prefix = application_prefix
        self.env_overrides = env_overrides
        self.var_dir = var_dir
        self.started: list[Worker] = []

    def start(self, name: str) -> Worker:
        env = {k: v for k, v in os.environ.items()
               if k not in {"CELERY_RESULT_BACKEND", "DATABASE_URL_FILE", "CELERY_BROKER_URL_FILE"}}
        env.update({
            "DJANGO_SETTINGS_MODULE": "registry.settings",
            "DATABASE_URL": worker_database_url(f"{self.application_prefix}{name}"),
            "CELERY_BROKER_URL": self.broker_url,
            "CELERY_TASK_ALWAYS_EAGER": "false",
            "REGISTRY_VAR_DIR": str(self.var_dir / name),
            "PYTHONUNBUFFERED": "1",
            **self.env_overrides,
        })
        log_path = self.var_dir / f"{name}.log"
        with open(log_path, "wb") as log:
            process = subprocess.Popen(
                [*_celery_command(), "-A", "registry", "worker", "-c", "1", "--pool=prefork", "-Q", "celery",
                 "-n", f"{name}@%h", "--without-gossip", "--without-mingle",
                 "--loglevel=INFO"],
                cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group, so killpg reaches the pool child too
            )
        worker = Worker(name, process, log_path)
        self.started.append(worker)
        return worker

    def logs(self) -> str:
        return "\n".join(f"----- worker {w.name} (exit {w.process.poll()}) -----\n{w.log()[-6000:]}"
                         for w in self.started)

    def stop_all(self) -> None:
        for worker in self.started:
            worker.stop()
        # Leave no session behind: the test database is flushed and then dropped after the tests.
        if not wait_for_backends_gone(self.application_prefix, timeout=10):
            terminate_backends(self.application_prefix)
            wait_for_backends_gone(self.application_prefix, timeout=10)


@pytest.fixture
def celery_workers(redis_broker, tmp_path):
    url, _client = redis_broker
    workers = Workers(url, application_prefix=f"itest-{os.getpid()}-", var_dir=tmp_path, env_overrides={})
    try:
        yield workers
    finally:
        workers.stop_all()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test shows the end of each worker's log in its report."""
    report = yield
    workers = getattr(item, "funcargs", {}).get("celery_workers")
    if report.failed and isinstance(workers, Workers) and workers.started:
        report.sections.append(("celery workers", workers.logs()))
    return report
