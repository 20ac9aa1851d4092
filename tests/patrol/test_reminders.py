"""Daily reminders: each rule at its boundary, to the right people, and never twice."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.utils import timezone

from housing.factories import ResidenceFactory
from patrol.models import ResidencePermit, VerificationRequest, VerificationRequestKind
from patrol.reminders import reminders_send
from patrol.tasks import reminders_send_task
from portal.models import RatingAppeal, Submission
from registry.models import Notification, TaskRun

DAY = datetime.date(2026, 3, 10)


def at(day: datetime.date):
    return time_machine.travel(timezone.make_aware(datetime.datetime.combine(day, datetime.time(9, 0))), tick=False)


def make_submission(prop, landlord_user, created_on: datetime.date):
    with at(created_on):
        unit = prop.units.first()
        residence = ResidenceFactory(unit=unit, start_date=created_on - datetime.timedelta(days=30))
        return Submission.objects.create(kind="departure", property=prop, unit=unit, residence=residence,
                                         date=created_on, reported_on=created_on, submitted_by=landlord_user)


def test_reports_waiting_more_than_two_days_remind_the_station_once_a_day(rental_a, landlord_a, staff_a, officer_a,
                                                                          staff_b):
    make_submission(rental_a, landlord_a.user, DAY - datetime.timedelta(days=2))
    assert reminders_send(today=DAY)["submissions_waiting"] == 0  # two days old: not yet
    assert reminders_send(today=DAY + datetime.timedelta(days=1))["submissions_waiting"] == 2
    assert reminders_send(today=DAY + datetime.timedelta(days=1))["submissions_waiting"] == 0  # same day: nothing
    assert set(Notification.objects.filter(kind="submission_waiting").values_list("user__username", flat=True)) == {
        "staff_a", "officer_a"}
    assert reminders_send(today=DAY + datetime.timedelta(days=2))["submissions_waiting"] == 2  # next day: again


def test_decided_reports_are_not_reminded(rental_a, landlord_a, staff_a):
    submission = make_submission(rental_a, landlord_a.user, DAY - datetime.timedelta(days=5))
    Submission.objects.filter(pk=submission.pk).update(status="withdrawn")
    assert reminders_send(today=DAY)["submissions_waiting"] == 0


def test_owner_late_with_a_confirmation_is_reminded_once(rental_a, landlord_a):
    VerificationRequest.objects.create(property=rental_a, kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                       opened_on=DAY - datetime.timedelta(days=7), due_since=DAY)
    assert reminders_send(today=DAY)["confirmations_late"] == 0  # seven days: still in time
    next_day = DAY + datetime.timedelta(days=1)
    assert reminders_send(today=next_day)["confirmations_late"] == 1
    assert reminders_send(today=next_day + datetime.timedelta(days=3))["confirmations_late"] == 0
    note = Notification.objects.get(kind="confirmation_late")
    assert note.user == landlord_a.user and rental_a.address in note.title


def test_permit_expiring_within_thirty_days_reminds_the_officers_without_naming_the_holder(
        rental_a, station_a, officer_a, staff_a, django_capture_on_commit_callbacks):
    officer_a.email = "officer@example.org"
    officer_a.save(update_fields=["email"])
    residence = ResidenceFactory(unit=rental_a.units.first())
    ResidencePermit.objects.create(person=residence.person, station=station_a, number="JZ-0001",
                                   issued_on=DAY - datetime.timedelta(days=300),
                                   expires_on=DAY + datetime.timedelta(days=31))
    assert reminders_send(today=DAY)["permits_expiring"] == 0
    with django_capture_on_commit_callbacks(execute=True):
        assert reminders_send(today=DAY + datetime.timedelta(days=1))["permits_expiring"] == 1
    note = Notification.objects.get(kind="permit_expiring")
    assert note.user == officer_a and "JZ-0001" in note.title
    assert [m.to for m in mail.outbox] == [["officer@example.org"]]
    assert residence.person.name not in mail.outbox[0].body + mail.outbox[0].subject


def test_waiting_appeal_reminds_the_officers_once(rental_a, landlord_a, officer_a, staff_a):
    RatingAppeal.objects.create(property=rental_a, component="inspection", comment="请复查",
                                created_by=landlord_a.user)
    assert reminders_send(today=DAY)["appeals_waiting"] == 1
    assert reminders_send(today=DAY + datetime.timedelta(days=3))["appeals_waiting"] == 0
    assert Notification.objects.get(kind="appeal_waiting").user == officer_a


@pytest.mark.django_db
def test_the_task_records_its_run(rental_a, landlord_a, officer_a):
    RatingAppeal.objects.create(property=rental_a, component="inspection", comment="x", created_by=landlord_a.user)
    result = reminders_send_task.delay().get()
    assert result["appeals_waiting"] == 1
    run = TaskRun.objects.get(task="reminders_send")
    assert run.rows_changed == 1
