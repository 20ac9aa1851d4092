"""Periodic and on-change patrol work. Tasks are thin: they call services and record their runs."""

import logging

from celery import shared_task
from django.db import OperationalError

from registry.audit import audit_context
from registry.notifications import reminders_send
from registry.taskruns import recorded

from .rating import BATCH_SIZE, properties_rate, property_rate_all
from .services import verification_sweep

logger = logging.getLogger(__name__)

RETRY = {"autoretry_for": (OperationalError,), "retry_backoff": True, "retry_jitter": True, "max_retries": 3}


@shared_task(bind=True, acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900, **RETRY)
def rating_recalculate_all(self, run: str | None = None, batch_size: int | None = None) -> int:
    """Nightly: rate every property. Resumable: a redelivered message keeps its task id, so the
    rerun carries the same run label (even past midnight) and skips the batches already done."""
    run = run or (f"task-{self.request.id}" if self.request.id else None)
    with audit_context(via="task"), recorded("rating_recalculate_all") as run_log:
        rated = property_rate_all(run=run, batch_size=batch_size or BATCH_SIZE)
        run_log.rows_changed = rated
    return rated


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900, **RETRY)
def verification_sweep_task() -> dict:
    with audit_context(via="task"), recorded("verification_sweep") as run_log:
        result = verification_sweep()
        run_log.rows_changed = result["opened"] + result["escalated"]
        run_log.result = str(result)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=900, time_limit=960, **RETRY)
def reminders_send_task() -> dict:
    """Daily: every app's reminders (reports waiting, late confirmations, expiring permits, waiting appeals:
    ``registry.notifications.daily_reminders``); each sent once."""
    with audit_context(via="task"), recorded("reminders_send") as run_log:
        result = reminders_send()
        run_log.rows_changed = sum(result.values())
        run_log.result = str(result)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660, **RETRY)
def properties_rate_task(property_ids: list[int]) -> int:
    """Re-rate properties whose inputs changed; ids of properties deleted meanwhile are skipped."""
    return properties_rate(property_ids=property_ids)
