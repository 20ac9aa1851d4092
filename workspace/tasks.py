import logging

from celery import shared_task

from registry.taskruns import recorded

from .tallies import check, compact

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=280)
def tally_compact_task() -> int:
    """Every ten minutes: fold the dashboards' figure deltas (workspace/tallies.py). Idempotent."""
    removed = compact()
    if removed:
        logger.info("dashboard tallies: %d deltas folded", removed)
    return removed


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def tally_check_task() -> dict:
    """Nightly: the dashboards' kept figures against a fresh count, repaired if they differ (the run's result
    says how many differed; it should always be none)."""
    with recorded("tally_check") as run:
        found = check()
        run.rows_changed = found["different"]
        run.result = str(found)
    return found
