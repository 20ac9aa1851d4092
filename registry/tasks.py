import logging

from celery import shared_task

from .audit import audit_context
from .audit_chain import audit_purge_expired as audit_events_purge
from .audit_chain import audit_seal, audit_verify
from .changes import changes_settle
from .models import Notification
from .retention import retention_run
from .taskruns import recorded

logger = logging.getLogger(__name__)


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def audit_purge_expired() -> int:
    """Delete audit events past the retention period (never younger than 183 days). Idempotent."""
    with audit_context(via="task"), recorded("audit_purge_expired") as run:
        deleted = run.rows_changed = audit_events_purge()
    logger.info("audit purge removed %d events", deleted)
    return deleted


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=60, time_limit=90,
             autoretry_for=(ConnectionError, TimeoutError), retry_backoff=True, retry_jitter=True, max_retries=5)
def notification_email(notification_id: int) -> bool:
    """Email one notification once: claimed with a conditional UPDATE before sending."""
    from django.conf import settings
    from django.core.mail import send_mail
    from django.utils import timezone

    notification = Notification.objects.select_related("user").filter(pk=notification_id).first()
    if notification is None or not notification.user.email:
        return False
    claimed = Notification.objects.filter(pk=notification_id, emailed_at__isnull=True).update(emailed_at=timezone.now())
    if claimed != 1:
        return False
    link = f"{settings.SITE_URL}{notification.url}" if notification.url else ""
    send_mail(notification.title, f"{notification.body}\n\n{link}".strip(), settings.DEFAULT_FROM_EMAIL,
              [notification.user.email])
    return True


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=600, time_limit=660)
def changes_settle_task() -> int:
    """Number a burst of change-feed entries (queued after an import) and tidy the feed's table."""
    numbered = changes_settle()
    logger.info("change feed: %d entries numbered", numbered)
    return numbered


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=1800, time_limit=1900)
def retention_task() -> dict:
    """Nightly: every record past its retention period deleted or anonymised (registry/retention.py). Idempotent."""
    with audit_context(via="task"), recorded("retention") as run:
        result = retention_run()
        run.rows_changed = sum(result.values())
        run.result = str(result)
    return result


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=240, time_limit=280)
def audit_seal_task() -> int:
    """Every few minutes: seal the committed audit events into the hash chain (registry/audit_chain.py)."""
    sealed = audit_seal()
    if sealed:
        logger.info("audit chain: %d events sealed", sealed)
    return sealed


@shared_task(acks_late=True, reject_on_worker_lost=True, soft_time_limit=3600, time_limit=3700)
def audit_verify_task() -> str:
    """Nightly: walk the audit chain; what it found is the run's result on the periodic-task page, and a
    broken chain makes the run fail."""
    with audit_context(via="task"), recorded("audit_verify") as run:
        audit_seal()
        verdict = audit_verify()
        run.rows_changed = verdict.checked
        run.result = verdict.summary()
        if not verdict.ok:
            logger.error("audit chain broken: %s", verdict.summary())
            raise AuditChainBroken(verdict.summary())
    return verdict.summary()


class AuditChainBroken(Exception):
    """The audit trail's hash chain does not hold: events were changed, removed or back-dated."""
