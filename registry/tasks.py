import logging

from celery import shared_task

from .audit import audit_context
from .models import AuditEvent

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def audit_purge_expired() -> int:
    """Delete audit events past the retention period (never younger than 183 days). Idempotent."""
    with audit_context(via="task"):
        deleted = AuditEvent.objects.purge_expired()
    logger.info("audit purge removed %d events", deleted)
    return deleted
