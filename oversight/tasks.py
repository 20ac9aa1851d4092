import datetime

from celery import shared_task
from django.utils import timezone

from registry.audit import audit_context
from registry.taskruns import recorded

from .rules import flags_for


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def access_flags_task(day: str | None = None) -> dict:
    """Nightly: flag yesterday's unusual access (oversight/rules.py). Idempotent: a rerun adds no flag twice."""
    target = datetime.date.fromisoformat(day) if day else timezone.localdate() - datetime.timedelta(days=1)
    with audit_context(via="task"), recorded("access_flags") as run:
        counts = flags_for(target)
        run.rows_changed = sum(counts.values())
        run.result = f"{target}: {counts}"
    return counts
