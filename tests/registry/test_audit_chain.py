"""The audit trail's hash chain (issue 15, point 3): sealed in commit order, and any event changed, removed or
back-dated shows in ``audit_verify`` (and in ``manage.py audit_verify``, and on the periodic-task page)."""

import datetime
import json
import logging

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import QuerySet
from django.utils import timezone

from registry import audit
from registry.audit_chain import audit_purge_expired, audit_seal, audit_verify
from registry.models import AuditAction, AuditChainStart, AuditEvent, AuditSeal, TaskRun
from registry.tasks import AuditChainBroken, audit_verify_task


def events(n: int, user) -> list[AuditEvent]:
    return [audit.record(action=AuditAction.VIEW, object_type="persons.person", object_id=str(i), user=user)
            for i in range(n)]


def tamper(sql: str, params: list) -> None:
    """What someone with the database's owner role could do behind the application's back (SQLite has no
    trigger refusing it; on PostgreSQL the application's role may not: test_audit.py, docs)."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)


@pytest.mark.skipif(connection.vendor == "postgresql", reason="the trigger refuses tampering on PostgreSQL")
def test_the_chain_shows_an_event_changed_removed_or_back_dated(staff_a):
    written = events(6, staff_a)
    assert audit_seal() == 6 and audit_seal() == 0
    assert audit_verify().ok and audit_verify().checked == 6
    tamper("UPDATE registry_auditevent SET reason = 'nothing to see' WHERE id = %s", [written[1].pk])
    tamper("DELETE FROM registry_auditevent WHERE id = %s", [written[3].pk])
    verdict = audit_verify()
    assert (verdict.changed, verdict.removed, verdict.backdated) == ([written[1].pk], [written[3].pk], [])
    # An event slipped in later with an old time: the sealing does not look that far back, so it stays
    # unsealed, and shows.
    forged = AuditEvent.objects.create(action=AuditAction.UNMASK, at=timezone.now() - datetime.timedelta(days=2))
    audit_seal()
    assert audit_verify().unsealed == 1 and not AuditSeal.objects.filter(event_id=forged.pk).exists()
    with pytest.raises(CommandError, match="1 changed"):
        call_command("audit_verify")


def test_events_left_unsealed_too_long_show(staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "AUDIT_SEAL_TOLERANCE_SECONDS": 60}
    AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - datetime.timedelta(minutes=5))
    assert audit_verify().unsealed == 1
    audit_seal()
    assert audit_verify().ok


def test_the_purge_removes_the_oldest_events_with_their_seals_and_the_chain_still_holds(staff_a):
    old = [AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - datetime.timedelta(days=400))
           for _ in range(3)]
    young = events(2, staff_a)
    assert audit_purge_expired() == 3
    assert not AuditEvent.objects.filter(pk__in=[e.pk for e in old]).exists()
    assert AuditSeal.objects.count() == 2 and AuditChainStart.objects.get().position == 3
    verdict = audit_verify()
    assert verdict.ok and verdict.checked == 2
    assert set(AuditEvent.objects.values_list("pk", flat=True)) == {e.pk for e in young}


def test_the_nightly_check_records_its_verdict_and_fails_on_a_broken_chain(staff_a):
    # The first is past the trigger's 183 days, so that on PostgreSQL too its removal is possible to the owner.
    written = [AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - datetime.timedelta(days=200)),
               *events(2, staff_a)]
    assert "3 events checked: the chain is whole." in audit_verify_task.delay().get()
    QuerySet.delete(AuditEvent.objects.filter(pk=written[0].pk))  # past the model's refusal, as an owner could
    with pytest.raises(AuditChainBroken):
        audit_verify_task.delay().get()
    run = TaskRun.objects.filter(task="audit_verify").order_by("-started_at", "-id").first()
    assert run.status == "failed" and "1 removed" in run.result


def test_sealed_events_go_to_their_own_stream_as_json_lines_a_collector_can_check(
        staff_a, tmp_path, django_capture_on_commit_callbacks):
    from registry.audit_chain import canonical, chained, stream_logger
    from registry.logs import private_file_handler

    handler = private_file_handler(str(tmp_path / "audit.jsonl"))
    handler.setFormatter(logging.Formatter("%(message)s"))
    stream_logger.addHandler(handler)
    try:
        written = events(3, staff_a)
        with django_capture_on_commit_callbacks(execute=True):  # the lines go out once the seals are committed
            audit_seal()
    finally:
        stream_logger.removeHandler(handler)
        handler.close()
    path = tmp_path / "audit.jsonl"
    assert path.stat().st_mode & 0o777 == 0o600
    lines = [json.loads(line) for line in path.read_text().splitlines()]
    assert [line["id"] for line in lines] == [event.pk for event in written]
    assert [line["position"] for line in lines] == [1, 2, 3]
    # The chain recomputed from the lines alone, as an off-host collector would.
    digest = "0" * 64
    for line in lines:
        line["at"] = datetime.datetime.fromisoformat(line["at"])
        assert canonical(line) and chained(digest, line) == line["digest"]
        digest = line["digest"]


def test_sealing_looks_only_at_what_is_new_since_the_last_seal(staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "AUDIT_SEAL_TOLERANCE_SECONDS": 60}
    events(2, staff_a)
    assert audit_seal() == 2
    # Written (by its time) well before the last sealing, committed only now: not looked for, and reported.
    late = AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - datetime.timedelta(minutes=10))
    assert audit_seal() == 0
    verdict = audit_verify()
    assert verdict.unsealed == 1 and not verdict.ok
    assert not AuditSeal.objects.filter(event_id=late.pk).exists()


def test_the_periodic_task_page_shows_the_last_verdict(staff_a, admin_user, client):
    from django.urls import reverse

    events(2, staff_a)
    audit_verify_task.delay().get()
    client.force_login(admin_user)
    page = client.get(reverse("patrol:task_runs")).content.decode()
    assert "registry.tasks.audit_verify_task" in page
    assert "2 events checked: the chain is whole." in page
