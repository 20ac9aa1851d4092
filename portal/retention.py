"""Retention of the portal's reports (registry/retention.py): a report's tenant details go a retention period
after its decision. The report stays (its dates and lateness, who decided): only who it named is removed."""

from django.db.models import Case, Value, When
from django.db.models.functions import Coalesce

from registry import audit
from registry.models import AuditAction
from registry.retention import before

from .models import Submission, SubmissionStatusChoices

DECIDED = (SubmissionStatusChoices.APPROVED, SubmissionStatusChoices.REJECTED, SubmissionStatusChoices.WITHDRAWN)
REMOVED = "—"  # a rejection keeps a reason (a constraint): the staff's words may name the tenant


def submissions_anonymise(now) -> int:
    """Reports decided more than ``RETENTION_DAYS["submissions"]`` ago lose the tenant's name, document,
    phone, birth date and sex, and the reason for a rejection. One statement; audited as one event."""
    due = (Submission.objects.filter(status__in=DECIDED, anonymised_at__isnull=True)
           .alias(decided=Coalesce("decided_at", "updated_at")).filter(decided__lt=before(now, "submissions")))
    ids = list(due.values_list("pk", flat=True))
    if not ids:
        return 0
    changed = Submission.objects.filter(pk__in=ids).update(
        name="", phone="", birth_date=None, sex="", document_number="", document_country="", document_hash="",
        document_head_hash="", document_tail_hash="", anonymised_at=now,
        rejection_reason=Case(When(status=SubmissionStatusChoices.REJECTED, then=Value(REMOVED)), default=Value("")))
    audit.record(action=AuditAction.UPDATE, object_type="portal.submission", object_id="",
                 changes={"anonymised": changed, "ids": ids[:1000]}, reason="retention", via="task")
    return changed
