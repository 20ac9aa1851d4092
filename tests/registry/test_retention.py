"""Retention (issue 15): what is kept only as long as it is needed goes each night, on its own schedule."""

import datetime

import time_machine
from django.contrib.auth import get_user_model
from django.db import connection
from django.utils import timezone
from qsessions.models import Session

from housing.import_files import imports_dir
from housing.models import ImportJob, ImportStatusChoices
from persons.identity import make_resident_id
from portal.models import Submission
from portal.services import submission_reject, submission_report_arrival
from registry.models import AuditAction, AuditEvent, IdempotencyRecord, Notification, TaskRun
from registry.retention import retention_run
from registry.tasks import retention_task

DAY = datetime.timedelta(days=1)
NUMBER = make_resident_id(birth_date=datetime.date(1990, 5, 1), sex="M", region="110101")


def rejected_report(rental_a, landlord_a, officer_a) -> Submission:
    unit = rental_a.units.first() or rental_a.units.create(label="101", capacity=2)
    submission = submission_report_arrival(prop=rental_a, unit=unit, actor=landlord_a.user, name="赵大伟",
                                           document_type="resident_id", document_number=NUMBER,
                                           phone="13912345678", date=timezone.localdate(), reason="work")
    return submission_reject(submission=submission, actor=officer_a, reason="赵大伟的证件号码不对")


def raw_columns(submission) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute("SELECT name, phone, document_number, document_hash, rejection_reason FROM portal_submission "
                       "WHERE id = %s", [submission.pk])
        return cursor.fetchone()


def test_a_decided_report_loses_the_tenants_details_a_year_after_its_decision(rental_a, landlord_a, officer_a):
    report = rejected_report(rental_a, landlord_a, officer_a)
    waiting = submission_report_arrival(
        prop=rental_a, unit=rental_a.units.first(), actor=landlord_a.user, name="钱小明", document_type="resident_id",
        document_number=make_resident_id(birth_date=datetime.date(1992, 1, 1), sex="M", region="110101"),
        date=timezone.localdate(), reason="work")
    assert retention_run(now=timezone.now() + 364 * DAY)["submissions"] == 0
    assert retention_run(now=timezone.now() + 366 * DAY)["submissions"] == 1
    assert raw_columns(report) == ("", "", "", "", "—")
    kept = Submission.objects.get(pk=report.pk)
    assert kept.status == "rejected" and kept.anonymised_at and kept.birth_date is None
    assert Submission.objects.get(pk=waiting.pk).name == "钱小明"  # still waiting: still needed
    assert retention_run(now=timezone.now() + 400 * DAY)["submissions"] == 0  # once
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="portal.submission",
                                     reason="retention").exists()


def test_an_imports_report_goes_thirty_days_after_it_ended_and_its_file_with_it(staff_a):
    job = ImportJob.objects.create(user=staff_a, filename="三月新来人员.xlsx", stored_name="abc.xlsx", sha256="0" * 64,
                                   status=ImportStatusChoices.DONE, finished_at=timezone.now(),
                                   errors=[{"row": 3, "message": "Name: 王五 differs"}])
    stray = imports_dir() / "abc.xlsx"
    stray.write_bytes(b"left behind")
    open_job = ImportJob.objects.create(user=staff_a, filename="b.xlsx", stored_name="b.xlsx", sha256="1" * 64,
                                        status=ImportStatusChoices.VALIDATED)
    assert retention_run(now=timezone.now() + 29 * DAY)["import_reports"] == 0
    assert retention_run(now=timezone.now() + 31 * DAY)["import_reports"] == 1
    assert not ImportJob.objects.filter(pk=job.pk).exists() and not stray.exists()
    assert ImportJob.objects.filter(pk=open_job.pk).exists()


def test_idempotency_records_read_notifications_and_ended_sessions_go(staff_a, client):
    IdempotencyRecord.objects.create(user=staff_a, key="k", request_hash="h", status_code=201, body={"name": "王五"})
    Notification.objects.create(user=staff_a, key="read", kind="x", title="t", read_at=timezone.now())
    unread = Notification.objects.create(user=staff_a, key="unread", kind="x", title="t")
    client.force_login(staff_a)
    assert Session.objects.filter(user=staff_a).exists()
    result = retention_run(now=timezone.now() + 91 * DAY)
    assert (result["idempotency_records"], result["read_notifications"], result["expired_sessions"]) == (1, 1, 1)
    assert list(Notification.objects.all()) == [unread]
    assert retention_run(now=timezone.now() + 10 * DAY)["expired_sessions"] == 0


def test_the_nightly_task_runs_every_rule_and_records_its_run(db):
    get_user_model().objects.create(username="someone")
    with time_machine.travel(timezone.now() + 400 * DAY):
        result = retention_task.delay().get()
    assert set(result) >= {"submissions", "import_reports", "idempotency_records", "read_notifications",
                           "expired_sessions"}
    assert TaskRun.objects.get(task="retention").status == "ok"
