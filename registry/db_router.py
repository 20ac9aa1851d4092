"""Reads from a streaming replica, for the pages that opt in (issue 19; docs/deployment.md, "Several machines").

Nothing is routed unless a view asks: dashboards, exports, the audit pages and the list pages wrap their GET in
``ReplicaReadsMixin`` (or ``replica_reads`` on a function, ``reads_from_replica()`` around a block). Inside
that scope the router sends reads to the ``replica`` alias (``DATABASE_REPLICA_URL``) unless

* the user wrote in the last ``REPLICA_READ_YOUR_WRITES_SECONDS`` (read-your-writes: any POST, PUT, PATCH or
  DELETE they made counts, noted in the shared cache by ``ReplicaWriteMarkerMiddleware``);
* the primary's connection is inside a transaction (a check before a write, ``select_for_update``);
* the model is one that must be fresh whatever the page (sessions, lock-outs, second factors, beat);
* the replica lags more than ``REPLICA_MAX_LAG_SECONDS``, is not a standby, or cannot be reached: it is then
  skipped quietly, the change of state logged once, and asked again after ``REPLICA_PROBE_SECONDS``.

The choice is made once per scope, at its first read, so one page never mixes the two servers. Writes always
go to the primary, audit events written while a page reads from the replica included.
"""

import contextvars
import functools
import logging
import threading
import time
from contextlib import contextmanager
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import DEFAULT_DB_ALIAS, OperationalError, connections

logger = logging.getLogger(__name__)

REPLICA = "replica"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
# Apps whose rows decide who the user is and what they may do right now: always read from the primary.
PRIMARY_ONLY_APPS = frozenset({"sessions", "qsessions", "axes", "otp_totp", "otp_static", "django_otp",
                               "django_celery_beat"})


def _setting(name: str, default: float) -> float:
    return float(settings.REGISTRY.get(name, default))


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


# --- read-your-writes ---------------------------------------------------------------------------------------

def _wrote_key(user_id) -> str:
    return f"replica:wrote:{user_id}"


def read_your_writes_seconds() -> float:
    """How long after a write its author reads from the primary: the setting, but never less than the
    oldest data the replica may serve (the lag threshold plus the age of the probe that measured it)."""
    return max(_setting("REPLICA_READ_YOUR_WRITES_SECONDS", 5),
               _setting("REPLICA_MAX_LAG_SECONDS", 2) + _setting("REPLICA_PROBE_SECONDS", 2))


def note_write(user_id, *, now: float | None = None) -> None:
    """Remember that this user just wrote (the shared cache: every web machine sees it)."""
    if user_id is None:
        return
    window = read_your_writes_seconds()
    try:
        cache.set(_wrote_key(user_id), time.time() if now is None else now, timeout=int(window) + 1)
    except Exception:  # a write must not fail because the cache is away; the user may read stale data once
        logger.warning("could not note a write for read-your-writes", exc_info=True)


def wrote_recently(user_id, *, now: float | None = None) -> bool:
    if user_id is None:
        return False
    try:
        wrote_at = cache.get(_wrote_key(user_id))
    except Exception:  # no way to know: the primary is always right
        return True
    if wrote_at is None:
        return False
    return (time.time() if now is None else now) - float(wrote_at) < read_your_writes_seconds()


class ReplicaWriteMarkerMiddleware:
    """Notes every POST, PUT, PATCH and DELETE of a signed-in user, whatever it changed (installed with
    DATABASE_REPLICA_URL). Audit events written by reading pages do not count: nobody reads back their own."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        try:
            return self.get_response(request)
        finally:
            if request.method not in SAFE_METHODS:
                user = getattr(request, "user", None)
                if user is not None and user.is_authenticated:
                    note_write(user.pk)


# --- the replica's health --------------------------------------------------------------------------------

@dataclass(frozen=True)
class ReplicaHealth:
    usable: bool
    reason: str = ""
    lag_seconds: float | None = None


LAG_SQL = """
SELECT pg_is_in_recovery(),
       pg_wal_lsn_diff(%s::pg_lsn, pg_last_wal_replay_lsn()),
       EXTRACT(EPOCH FROM now() - pg_last_xact_replay_timestamp())
"""


def measure_replica(alias: str = REPLICA) -> ReplicaHealth:
    """Ask the replica how far it is behind the primary, in seconds.

    0 when it has replayed the primary's current WAL position; otherwise the age of the last transaction it
    replayed, an upper bound on how old its data is (every later commit is newer still)."""
    replica = connections[alias]
    if replica.vendor != "postgresql":
        return ReplicaHealth(False, f"{alias} is {replica.vendor}, not PostgreSQL")
    connect_replica(alias)  # first: a replica that is away costs the primary nothing
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (primary_lsn,) = cursor.fetchone()
    with replica.cursor() as cursor:
        cursor.execute(LAG_SQL, [primary_lsn])
        in_recovery, bytes_behind, replay_age = cursor.fetchone()
    if not in_recovery:
        # A promoted former standby, or the primary itself: its data may have parted from the primary's.
        return ReplicaHealth(False, "it is not a standby (pg_is_in_recovery() is false)")
    if bytes_behind is not None and bytes_behind <= 0:
        lag = 0.0
    else:
        lag = float(replay_age) if replay_age is not None else float("inf")
    max_lag = _setting("REPLICA_MAX_LAG_SECONDS", 2)
    if lag > max_lag:
        return ReplicaHealth(False, f"it lags {lag:.1f} s (more than {max_lag:g} s)", lag)
    return ReplicaHealth(True, "", lag)


class ReplicaProbe:
    """The replica's health, measured at most every ``REPLICA_PROBE_SECONDS`` per process; a change between
    usable and not is logged once."""

    def __init__(self, measure=measure_replica, clock=time.monotonic):
        self.measure, self.clock = measure, clock
        self._lock = threading.Lock()
        self._health: ReplicaHealth | None = None
        self._measured_at = 0.0
        self._logged_usable: bool | None = None

    def health(self) -> ReplicaHealth:
        with self._lock:
            if self._health is not None and self.clock() - self._measured_at < _setting("REPLICA_PROBE_SECONDS", 2):
                return self._health
        try:
            health = self.measure()
        except Exception as exc:  # refused, timed out, reset: the primary serves
            _close_quietly(REPLICA)
            health = ReplicaHealth(False, f"it cannot be reached ({type(exc).__name__}: {str(exc).strip()[:200]})")
        self.record(health)
        return health

    def record(self, health: ReplicaHealth) -> None:
        with self._lock:
            self._health, self._measured_at = health, self.clock()
            before, self._logged_usable = self._logged_usable, health.usable
        if before is not False and not health.usable:
            logger.warning("reads stay on the primary: the replica is skipped, %s", health.reason)
        elif before is False and health.usable:
            logger.info("reads from the replica again (lag %.1f s)", health.lag_seconds or 0.0)

    def mark_down(self, exc: Exception) -> None:
        _close_quietly(REPLICA)
        self.record(ReplicaHealth(False, f"it cannot be reached ({type(exc).__name__}: {str(exc).strip()[:200]})"))

    def reset(self) -> None:
        with self._lock:
            self._health, self._measured_at, self._logged_usable = None, 0.0, None


def _close_quietly(alias: str) -> None:
    try:
        connections[alias].close()
    except Exception:  # a connection that broke may fail to close too: it is gone either way
        logger.debug("closing %s failed", alias, exc_info=True)


probe = ReplicaProbe()


# --- the opt-in ----------------------------------------------------------------------------------------

@dataclass
class _Scope:
    user_id: object = None
    alias: str | None = None  # decided at the scope's first read


_scope: contextvars.ContextVar[_Scope | None] = contextvars.ContextVar("replica_reads", default=None)


def in_replica_scope() -> bool:
    return _scope.get() is not None


@contextmanager
def reads_from_replica(user=None):
    """Reads inside may come from the replica (see the module's docstring for when they do not)."""
    user_id = user.pk if user is not None and getattr(user, "is_authenticated", False) else None
    token = _scope.set(_Scope(user_id=user_id))
    try:
        yield
    finally:
        _scope.reset(token)


def _in_scope(scope: _Scope, iterator):
    """A streamed response's chunks are produced after the view returned: each is read in the view's scope."""
    iterator = iter(iterator)
    while True:
        token = _scope.set(scope)
        try:
            chunk = next(iterator)
        except StopIteration:
            return
        finally:
            _scope.reset(token)
        yield chunk


def replica_dispatch(request, respond):
    """Call ``respond()`` in a replica scope when the request is safe; render a lazy response and wrap a
    streamed one inside the same scope, so their queries follow the page's choice."""
    if request.method not in SAFE_METHODS:
        return respond()
    user = getattr(request, "user", None)
    with reads_from_replica(user):
        scope = _scope.get()
        response = respond()
        if hasattr(response, "render") and not getattr(response, "is_rendered", True):
            response.render()
    if getattr(response, "streaming", False):
        response.streaming_content = _in_scope(scope, response.streaming_content)
    return response


def replica_reads(view):
    """Decorator for a function view whose GET may read from the replica."""

    @functools.wraps(view)
    def wrapped(request, *args, **kwargs):
        return replica_dispatch(request, lambda: view(request, *args, **kwargs))

    wrapped.replica_reads = True
    return wrapped


class ReplicaReadsMixin:
    """For class-based views: GET and HEAD may read from the replica. Put it first among the bases."""

    replica_reads = True

    def dispatch(self, request, *args, **kwargs):
        return replica_dispatch(request, lambda: super(ReplicaReadsMixin, self).dispatch(request, *args, **kwargs))


# --- the router ----------------------------------------------------------------------------------------

def connect_replica(alias: str = REPLICA) -> None:
    """Make sure the connection a page will use answers now: the probe may be seconds old. A persistent connection
    to a standby stopped meanwhile is dead, and behind PgBouncer a new connection succeeds whatever the server
    behind it does: only a query tells. Raises when it does not answer (the caller falls back to the primary)."""
    replica = connections[alias]
    for _attempt in range(2):  # a dead persistent connection is replaced once
        replica.ensure_connection()
        if replica.is_usable():
            replica.health_check_done = True  # just checked: Django need not ask again in this request
            return
        replica.close()
    raise OperationalError(f"the {alias} database does not answer")


class ReplicaRouter:
    """``DATABASE_ROUTERS`` entry, installed with DATABASE_REPLICA_URL. Its collaborators can be replaced (tests)."""

    def __init__(self, probe: ReplicaProbe | None = None, wrote_recently=wrote_recently,
                 configured=replica_configured, connect=connect_replica):
        self._probe = probe
        self.wrote_recently, self.configured, self.connect = wrote_recently, configured, connect

    @property
    def probe(self) -> ReplicaProbe:
        return self._probe or probe

    def db_for_read(self, model, **hints):
        scope = _scope.get()
        if scope is None or not self.configured() or model._meta.app_label in PRIMARY_ONLY_APPS:
            return DEFAULT_DB_ALIAS
        if connections[DEFAULT_DB_ALIAS].in_atomic_block:
            return DEFAULT_DB_ALIAS
        if scope.alias is None:
            scope.alias = self.choose(scope)
        return scope.alias

    def choose(self, scope: _Scope) -> str:
        if self.wrote_recently(scope.user_id):
            return DEFAULT_DB_ALIAS
        if not self.probe.health().usable:
            return DEFAULT_DB_ALIAS
        try:
            self.connect()
        except Exception as exc:
            self.probe.mark_down(exc)
            return DEFAULT_DB_ALIAS
        return REPLICA

    def db_for_write(self, model, **hints):
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints):
        # The replica holds the primary's rows: an object read from one may point at an object from the other.
        if {obj1._state.db or DEFAULT_DB_ALIAS, obj2._state.db or DEFAULT_DB_ALIAS} <= {DEFAULT_DB_ALIAS, REPLICA}:
            return True
        return None

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        return db == DEFAULT_DB_ALIAS
