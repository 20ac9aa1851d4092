"""The audit trail: who did what to which personal record, and every read and unmasking.

Creates, updates and deletes of audited models are recorded by signal receivers, so the admin,
services, imports and tasks are all covered without each remembering to. Reads, unmaskings and
exports are recorded explicitly by the views that perform them. The actor comes from a context
variable set by ``AuditContextMiddleware`` (web and API) or ``audit_context`` (tasks, commands).

Hand-written rather than django-auditlog: the trail also covers reads, unmaskings, exports and
logins, must be immutable (code and a PostgreSQL trigger), and must store ID numbers masked.
"""

import contextvars
import functools
from contextlib import contextmanager
from dataclasses import dataclass

from django.contrib.auth import signals as auth_signals
from django.db import models
from django.db.models.signals import post_delete, post_init, post_save
from django.dispatch import receiver
from django.utils import timezone

from .bulk import insert_rows
from .changes import change_record, change_record_many, feed_models
from .models import AuditAction, AuditEvent
from .net import client_ip
from .scoping import scope_for

__all__ = ["AuditAction", "audit_context", "audited", "record", "record_export", "record_unmask",
           "record_view"]


@dataclass(frozen=True)
class AuditContext:
    user: object = None
    ip_address: str | None = None
    via: str = ""
    request: object = None

    @property
    def actor(self):
        # Read the request's user late: DRF authenticates tokens after the middleware ran.
        if self.user is not None:
            return self.user
        return getattr(self.request, "user", None)


_SYSTEM = AuditContext(via="system")
_context: contextvars.ContextVar[AuditContext | None] = contextvars.ContextVar("audit_context", default=None)

# Fields whose value is never written to the trail; a change shows as "changed" only.
SECRET_FIELDS = {"document_number", "document_hash", "document_head_hash", "document_tail_hash"}
# A model's own personal fields (names, phones, dates of birth, addresses: ``audit_personal_fields`` on the
# model) show as "set" or "changed" too: the trail then never holds a person's details in clear, and never
# needs anonymising when the person is.
# Derived or bookkeeping fields: recording them would only add noise.
IGNORED_FIELDS = {"version", "updated_at", "created_at", "name_pinyin", "name_initials"}


@contextmanager
def audit_context(*, user=None, ip_address=None, via="", request=None):
    token = _context.set(AuditContext(user=user, ip_address=ip_address, via=via, request=request))
    try:
        yield
    finally:
        _context.reset(token)


def current_context() -> AuditContext:
    return _context.get() or _SYSTEM


def _object_type(obj_or_model) -> str:
    return obj_or_model._meta.label_lower


def _station_id(obj) -> int | None:
    getter = getattr(obj, "get_audit_station_id", None)
    return getter() if getter else None


def _event(*, action: str, obj=None, object_type: str = "", object_id="", user=None,
           changes: dict | None = None, reason: str = "", station_id: int | None = None,
           via: str | None = None) -> dict:
    """One audit event's values. ``user`` defaults to the actor of the current context."""
    ctx = current_context()
    actor = user if user is not None else ctx.actor
    if actor is not None and not getattr(actor, "is_authenticated", False):
        actor = None
    if obj is not None:
        object_type = object_type or _object_type(obj)
        object_id = object_id or obj.pk
        if station_id is None:
            station_id = _station_id(obj)
    if station_id is None and actor is not None:
        station_id = scope_for(actor).single_station_id
    return {
        "action": action,
        "actor_id": getattr(actor, "pk", None),
        "actor_username": getattr(actor, "username", "") or "",
        "object_type": object_type,
        "object_id": "" if object_id is None else str(object_id),
        "station_id": station_id,
        "changes": changes or {},
        "reason": reason,
        "ip_address": ctx.ip_address,
        "via": via if via is not None else ctx.via,
    }


def record(**kwargs) -> AuditEvent:
    """Write one audit event (see ``_event`` for the arguments)."""
    return AuditEvent.objects.create(**_event(**kwargs))


def record_view(user, obj, *, via: str) -> AuditEvent:
    return record(action=AuditAction.VIEW, obj=obj, user=user, via=via)


def record_unmask(user, obj, *, reason: str, via: str) -> AuditEvent:
    return record(action=AuditAction.UNMASK, obj=obj, user=user, reason=reason, via=via)


def record_export(user, model, *, count: int, filters: dict, via: str) -> AuditEvent:
    return record(action=AuditAction.EXPORT, object_type=_object_type(model), user=user,
                  changes={"rows": count, "filters": filters}, via=via)


# --- create / update / delete through signals ---------------------------------------------------

def audited(model: type[models.Model]) -> type[models.Model]:
    """Class decorator: record every create, update and delete of this model."""
    feed_models.add(model)
    post_init.connect(_snapshot, sender=model, weak=False)
    post_save.connect(_after_save, sender=model, weak=False)
    post_delete.connect(_after_delete, sender=model, weak=False)
    return model


@functools.cache
def _tracked_names(model) -> tuple[str, ...]:
    """The attnames of ``model``'s audited fields (computed once per model: every save and bulk row asks)."""
    return tuple(f.attname for f in model._meta.concrete_fields if f.attname not in IGNORED_FIELDS)


def _snapshot(sender, instance, **kwargs):
    # The instance's values as they are now, for ``_diff`` to compare a save against: a copy of its whole
    # ``__dict__`` (one C-level copy; picking the audited names out cost several times more, on every row an
    # import or a list page loads), less the previous snapshot, so snapshots do not chain.
    snapshot = instance.__dict__.copy()
    snapshot.pop("_audit_snapshot", None)
    instance._audit_snapshot = snapshot


_PLAIN = (type(None), bool, int, float, str)


def _display(value):
    return value if type(value) in _PLAIN or isinstance(value, _PLAIN) else str(value)


@functools.cache
def _personal_names(model) -> frozenset:
    return frozenset(getattr(model, "audit_personal_fields", ()))


_SECRET, _PERSONAL, _SHOWN = "secret", "personal", "shown"


@functools.cache
def _diff_plan(model) -> tuple[tuple[str, str], ...]:
    """Each audited attname of ``model`` with how the trail shows it: not at all but that the document number
    was set or changed (secret), as set or changed (personal), or with its values (shown)."""
    personal = _personal_names(model)
    return tuple((name, _SECRET if name in SECRET_FIELDS else _PERSONAL if name in personal else _SHOWN)
                 for name in _tracked_names(model))


def _diff(instance, created: bool) -> dict:
    values = instance.__dict__
    changes = {}
    if created:
        for name, kind in _diff_plan(type(instance)):
            new = values.get(name)
            if new is None or new == "":
                continue
            if kind is _SHOWN:
                changes[name] = [None, _display(new)]
            elif kind is _PERSONAL:
                changes[name] = ["", "set"]
            elif name == "document_number":
                # Only that the number was set: even its masked parts, beside the birth date, would rebuild it.
                changes[name] = ["", "set"]
        return changes
    before = getattr(instance, "_audit_snapshot", {})
    for name, kind in _diff_plan(type(instance)):
        old, new = before.get(name), values.get(name)
        if old == new:
            continue
        if kind is _SHOWN:
            changes[name] = [_display(old), _display(new)]
        elif kind is _PERSONAL:
            changes[name] = ["", "changed"]
        elif name == "document_number":
            changes[name] = ["", "changed"]
    return changes


def _after_save(sender, instance, created, raw=False, **kwargs):
    if raw:  # loaddata
        return
    changes = _diff(instance, created)
    # A service that asks for a stated reason (a correction) leaves it on the instance for this one save.
    reason = instance.__dict__.pop("_audit_reason", "")
    if created or changes:
        action = AuditAction.CREATE if created else AuditAction.UPDATE
        record(action=action, obj=instance, changes=changes, reason=reason)
        change_record(instance, action)
    _snapshot(sender, instance)


def record_saved_many(instances: list, *, created: bool, change_scopes: dict | None = None) -> None:
    """What the signal receivers record for one save, for many rows written at once by ``bulk_create`` or
    ``bulk_update`` (which send no signals): an audit event with the field diff and a change-feed entry
    each, in two INSERTs. ``change_scopes`` may give a row's feed scope (see ``change_record_many``)."""
    action = AuditAction.CREATE if created else AuditAction.UPDATE
    now = timezone.now()
    events, changed = [], []
    shared = None  # what ``_event`` says for every row alike: the actor and the context
    for instance in instances:
        changes = _diff(instance, created)
        if created or changes:
            station_id = _station_id(instance)
            if station_id is None:  # the actor's station, if they have exactly one: ``_event`` decides
                event = _event(action=action, obj=instance, changes=changes)
            else:
                if shared is None:
                    shared = _event(action=action, obj=instance, changes={})
                event = {**shared, "object_type": _object_type(instance), "station_id": station_id,
                         "object_id": "" if instance.pk is None else str(instance.pk), "changes": changes}
            event["at"] = now
            events.append(event)
            changed.append(instance)
        _snapshot(type(instance), instance)
    insert_rows(AuditEvent, events)
    change_record_many(changed, action, scopes=change_scopes)


def _after_delete(sender, instance, **kwargs):
    record(action=AuditAction.DELETE, obj=instance)
    change_record(instance, AuditAction.DELETE)


# --- logins ----------------------------------------------------------------------------------

def _client_ip(request):
    return client_ip(request) if request is not None else None


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    with audit_context(user=user, ip_address=_client_ip(request), via="web"):
        record(action=AuditAction.LOGIN, user=user)


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        with audit_context(user=user, ip_address=_client_ip(request), via="web"):
            record(action=AuditAction.LOGOUT, user=user)


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str(credentials.get("username", ""))[:150]
    with audit_context(ip_address=_client_ip(request), via="web"):
        AuditEvent.objects.create(
            action=AuditAction.LOGIN_FAILED, actor_username=username,
            ip_address=_client_ip(request), via="web",
        )
