"""The audit trail sealed into a hash chain, so that a changed, removed or back-dated event shows.

Events are written by every request and task; a periodic step (``audit_seal``, like the change feed's
numbering) seals the committed ones in commit order: each gets a position after the last and a digest of
the event's content together with the digest before it (``AuditSeal``). ``audit_verify`` walks the chain
again and reports every event whose content no longer gives its digest (changed), every seal whose event is
gone (removed), and every event sealed after one written more than ``AUDIT_SEAL_TOLERANCE`` later than it
(back-dated: an event inserted into the past), and events left unsealed too long. Seals are written once;
the retention purge removes the oldest events with their seals and moves the chain's start forward.

The trail's own tables are protected in the database as well (migration 0002's trigger; in production the
application's role may only INSERT and SELECT them, and the purge is the owner's function of migration 0009:
registry/db_roles.py).
"""

import datetime
import functools
import hashlib
import json
import logging
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone

from .bulk import insert_rows
from .models import AuditChainStart, AuditEvent, AuditSeal

stream_logger = logging.getLogger("registry.audit.stream")
_LOCK_KEY = 0x41554449  # "AUDI": the PostgreSQL advisory lock that serialises sealing
BATCH = 20_000
FIELDS = ("id", "at", "actor_id", "actor_username", "action", "object_type", "object_id", "station_id",
          "changes", "reason", "ip_address", "via")


def canonical(event: dict) -> bytes:
    """An event's content as the chain hashes it: every column, in a fixed form."""
    values = {name: event[name] for name in FIELDS}
    values["at"] = event["at"].astimezone(datetime.UTC).isoformat(timespec="microseconds")
    return json.dumps(values, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str).encode()


def chained(previous: str, event: dict) -> str:
    return hashlib.sha256(previous.encode() + canonical(event)).hexdigest()


def _start() -> AuditChainStart:
    return AuditChainStart.objects.order_by("pk").first() or AuditChainStart.objects.create()


def stream(seals: list[dict], events: list[dict]) -> None:
    """Each sealed event as one JSON line on the ``registry.audit.stream`` logger, with its place in the chain
    and its digest, for an off-host collector: what has left the machine cannot be rewritten with the
    database, and the collector can recompute the chain from the lines alone (``canonical``)."""
    if not stream_logger.isEnabledFor(logging.INFO):
        return
    for seal, event in zip(seals, events, strict=True):
        line = {**event, "at": event["at"].astimezone(datetime.UTC).isoformat(timespec="microseconds"),
                "position": seal["position"], "digest": seal["digest"]}
        stream_logger.info(json.dumps(line, ensure_ascii=False, sort_keys=True, default=str))


def audit_seal(*, limit: int | None = None) -> int:
    """Seal committed, unsealed events, oldest id first, after the last seal. Returns how many.

    Only events written since the last sealing, less the tolerance, are looked for (the ``at`` index), so a run
    costs what is new, not the whole trail; the first run seals everything. An event whose transaction
    commits later than the tolerance after it was written stays unsealed, and ``audit_verify`` reports it.
    """
    sealed = 0
    tolerance = datetime.timedelta(seconds=settings.REGISTRY["AUDIT_SEAL_TOLERANCE_SECONDS"])
    last_sealed_at = AuditSeal.objects.order_by("-position").values_list("sealed_at", flat=True).first()
    candidates = AuditEvent.objects.filter(~Exists(AuditSeal.objects.filter(event_id=OuterRef("pk"))))
    if last_sealed_at is not None:
        candidates = candidates.filter(at__gte=last_sealed_at - tolerance)
    while limit is None or sealed < limit:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                with connection.cursor() as cursor:
                    cursor.execute("SELECT pg_advisory_xact_lock(%s)", [_LOCK_KEY])
            last = AuditSeal.objects.order_by("-position").values_list("position", "digest").first()
            if last is None:
                start = _start()
                last = (start.position, start.digest)
            size = BATCH if limit is None else min(BATCH, limit - sealed)
            events = list(candidates.order_by("id").values(*FIELDS)[:size])
            if not events:
                break
            position, digest = last
            now, seals = timezone.now(), []
            for event in events:
                position += 1
                digest = chained(digest, event)
                seals.append({"position": position, "event_id": event["id"], "digest": digest, "sealed_at": now})
            insert_rows(AuditSeal, seals)
            transaction.on_commit(functools.partial(stream, seals, events))
            sealed += len(seals)
        if len(events) < size:
            break
    return sealed


@dataclass
class Verdict:
    """What ``audit_verify`` found."""

    checked: int = 0
    changed: list = field(default_factory=list)  # event ids whose content no longer matches their seal
    removed: list = field(default_factory=list)  # event ids sealed but gone
    backdated: list = field(default_factory=list)  # event ids written well before the event sealed before them
    unsealed: int = 0  # events older than the tolerance and still not sealed

    @property
    def ok(self) -> bool:
        return not (self.changed or self.removed or self.backdated or self.unsealed)

    def summary(self) -> str:
        if self.ok:
            return f"{self.checked} events checked: the chain is whole."
        return (f"{self.checked} events checked: {len(self.changed)} changed {self.changed[:20]}, "
                f"{len(self.removed)} removed {self.removed[:20]}, {len(self.backdated)} back-dated "
                f"{self.backdated[:20]}, {self.unsealed} left unsealed.")


def audit_verify() -> Verdict:
    """Walk the chain from its start and say what does not hold."""
    verdict = Verdict()
    tolerance = datetime.timedelta(seconds=settings.REGISTRY["AUDIT_SEAL_TOLERANCE_SECONDS"])
    start = _start()
    digest, previous_at, expected = start.digest, None, start.position + 1
    last_position = AuditSeal.objects.order_by("-position").values_list("position", flat=True).first() or 0
    while expected <= last_position:
        seals = list(AuditSeal.objects.filter(position__gte=expected).order_by("position")
                     .values_list("position", "event_id", "digest")[:BATCH])
        if not seals:
            break
        events = {event["id"]: event for event in AuditEvent.objects.filter(
            pk__in=[event_id for _position, event_id, _digest in seals]).values(*FIELDS)}
        for position, event_id, sealed_digest in seals:
            event = events.get(event_id)
            verdict.checked += 1
            if event is None:
                verdict.removed.append(event_id)
            else:
                if chained(digest, event) != sealed_digest:
                    verdict.changed.append(event_id)
                if previous_at is not None and event["at"] < previous_at - tolerance:
                    verdict.backdated.append(event_id)
                previous_at = max(previous_at or event["at"], event["at"])
            digest = sealed_digest  # the chain goes on from what was sealed, so one change is reported once
            expected = position + 1
    verdict.unsealed = (AuditEvent.objects.filter(at__lt=timezone.now() - tolerance)
                        .filter(~Exists(AuditSeal.objects.filter(event_id=OuterRef("pk")))).count())
    return verdict


def audit_purge_expired(*, now: datetime.datetime | None = None) -> int:
    """The retention purge, the only delete of audit events: the events at the start of the chain that are
    older than the retention period (at least 183 days), with their seals; the chain then starts after them.
    An old event sealed after a younger one waits until that one is old too. Returns how many went."""
    days = max(183, settings.REGISTRY["AUDIT_RETENTION_DAYS"])
    cutoff = (now or timezone.now()) - datetime.timedelta(days=days)
    audit_seal()  # everything committed is in the chain first
    young = (AuditSeal.objects.filter(Exists(AuditEvent.objects.filter(pk=OuterRef("event_id"), at__gte=cutoff)))
             .order_by("position").values_list("position", flat=True).first())
    seals = AuditSeal.objects.all() if young is None else AuditSeal.objects.filter(position__lt=young)
    last = seals.order_by("-position").values_list("position", "digest").first()
    if last is None:
        return 0
    start = _start()
    if connection.vendor == "postgresql":  # the owner's function: the application's role may not delete events
        with connection.cursor() as cursor:
            cursor.execute("SELECT registry_audit_purge(%s)", [last[0]])
            return cursor.fetchone()[0]
    with transaction.atomic():
        doomed = AuditEvent.objects.filter(pk__in=AuditSeal.objects.filter(position__lte=last[0]).values("event_id"))
        deleted = QuerySet.delete(doomed)[0]  # the events' own queryset refuses every delete
        AuditChainStart.objects.filter(pk=start.pk).update(position=last[0], digest=last[1])
        AuditSeal.objects.filter(position__lte=last[0]).delete()
    return deleted
