"""Stays lose their guest's details ``RETENTION_DAYS["stays"]`` after check-out (registry/retention.py)."""

from registry import audit
from registry.models import AuditAction
from registry.retention import before

from .models import Stay


def stays_anonymise(now) -> int:
    """One statement; the lodging keeps the stay's dates, room and counts. Audited as one event."""
    ids = list(Stay.objects.filter(anonymised_at__isnull=True, checked_out_at__lt=before(now, "stays"))
               .values_list("pk", flat=True))
    if not ids:
        return 0
    changed = Stay.objects.filter(pk__in=ids).update(
        name="", name_pinyin="", name_initials="", document_number="", document_country="", document_hash="",
        document_head_hash="", document_tail_hash="", anonymised_at=now)
    audit.record(action=AuditAction.UPDATE, object_type="lodging.stay", object_id="",
                 changes={"anonymised": changed, "ids": ids[:1000]}, reason="retention", via="task")
    return changed
