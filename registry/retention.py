"""Retention: what the registry keeps only as long as it is needed, removed or anonymised every night.

Each app registers its rules in ``retention_rules`` (in ``AppConfig.ready``): a function of ``now`` that
deletes or anonymises what is past its time and returns how many rows it touched. The periods are
``REGISTRY["RETENTION_DAYS"]`` (settings, with defaults). Persons are anonymised by their own rule
(PRODUCT.md: three years without a residence; ``housing``), and the audit trail by its purge.
"""

import datetime

from django.conf import settings
from django.utils import timezone
from qsessions.models import Session

from .extensions import ExtensionPoint
from .models import IdempotencyRecord, Notification

# name -> ``function(now) -> int``: one kind of record past its retention period.
retention_rules = ExtensionPoint("retention")


def retention_days(kind: str) -> int:
    return settings.REGISTRY["RETENTION_DAYS"][kind]


def before(now: datetime.datetime, kind: str) -> datetime.datetime:
    """The moment before which ``kind`` is past its retention period."""
    return now - datetime.timedelta(days=retention_days(kind))


def retention_run(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """Run every rule; returns how many rows each touched."""
    now = now or timezone.now()
    return {name: rule(now) for name, rule in retention_rules.entries()}


# --- the kernel's own records ----------------------------------------------------------------------------

def idempotency_records(now) -> int:
    """A retried POST comes within minutes, not weeks: the replayed answers (bodies with personal data) go."""
    return IdempotencyRecord.objects.filter(created_at__lt=before(now, "idempotency")).delete()[0]


def read_notifications(now) -> int:
    return Notification.objects.filter(read_at__lt=before(now, "read_notifications")).delete()[0]


def expired_sessions(now) -> int:
    """Sessions past their end (the sessions table keeps each one's browser and address).

    In batches that are never empty: qsessions' ``delete`` also drops each session from the cache, and with
    no session to drop it sends Redis a ``DEL`` without keys, which Redis refuses.
    """
    removed = 0
    expired = Session.objects.filter(expire_date__lt=now).order_by("pk").values_list("pk", flat=True)
    while keys := list(expired[:500]):
        removed += Session.objects.filter(pk__in=keys).delete()[0]
    return removed


retention_rules.register("idempotency_records", idempotency_records, order=10)
retention_rules.register("read_notifications", read_notifications, order=11)
retention_rules.register("expired_sessions", expired_sessions, order=12)
