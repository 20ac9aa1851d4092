from django.utils import timezone

from registry.models import AuditAction, AuditEvent
from registry.tasks import audit_purge_expired


def test_audit_purge_task_removes_only_expired_events_and_is_idempotent(db):
    old = AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - timezone.timedelta(days=400))
    young = AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - timezone.timedelta(days=100))
    assert audit_purge_expired.delay().get() == 1
    assert audit_purge_expired.delay().get() == 0
    assert list(AuditEvent.objects.values_list("pk", flat=True)) == [young.pk]
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
