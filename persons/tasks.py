from celery import shared_task
from django.db import OperationalError

from registry.audit import audit_context
from registry.taskruns import recorded


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900,
             autoretry_for=(OperationalError,), retry_backoff=True, retry_jitter=True, max_retries=3)
def persons_anonymise_task() -> int:
    """Daily retention: anonymise persons gone for the retention period. Idempotent."""
    from .services import persons_anonymise_expired

    with audit_context(via="task"), recorded("persons_anonymise") as run:
        run.rows_changed = persons_anonymise_expired()
    return run.rows_changed
