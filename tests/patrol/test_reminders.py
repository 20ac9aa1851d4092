"""Daily reminders: each rule at its boundary, to the right people, and never twice; one digest per
recipient, kind and day, linking to the list of what waits, for a fixed number of queries."""

import datetime

import pytest
import time_machine
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from patrol.models import ResidencePermit, VerificationRequest, VerificationRequestKind
from patrol.tasks import reminders_send_task
from portal.models import RatingAppeal, Submission
from registry.factories import make_user
from registry.models import Notification, TaskRun
from registry.notifications import reminders_send
from registry.roles import RoleChoices

DAY = datetime.date(2026, 3, 10)


def at(day: datetime.date, hour: int = 9):
    return time_machine.travel(timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, 0))),
                               tick=False)


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
    assert note.url == reverse("portal:occupants_confirm", args=[rental_a.pk])


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


def days(n: int) -> datetime.timedelta:
    return datetime.timedelta(days=n)


def make_permit(prop, number: str, expires_on: datetime.date):
    residence = ResidenceFactory(unit=prop.units.first())
    return ResidencePermit.objects.create(person=residence.person, station=prop.station, number=number,
                                          issued_on=expires_on - days(365), expires_on=expires_on)


def ask_to_confirm(prop, opened_on: datetime.date):
    return VerificationRequest.objects.create(property=prop, kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                              opened_on=opened_on, due_since=opened_on)


def test_reminders_cost_the_same_queries_for_two_or_twenty_items_of_each_kind(community_a, staff_a, officer_a,
                                                                              django_assert_max_num_queries):
    def run(count, day):
        with at(day - days(1), hour=18):
            for i in range(count):
                owner = LandlordFactory(station=community_a.station,
                                        user=make_user(RoleChoices.LANDLORD, username=f"owner-{day}-{i}"))
                prop = PropertyFactory(community=community_a, landlord=owner)
                UnitFactory(property=prop)
                make_submission(prop, owner.user, day - days(3))
                ask_to_confirm(prop, day - days(8))
                make_permit(prop, f"JZ-{day}-{i}", day + days(30))
                RatingAppeal.objects.create(property=prop, component="inspection", comment="x", created_by=owner.user)
        with at(day, hour=12), django_assert_max_num_queries(22) as queries:
            sent = reminders_send(today=day)
        # Reports: the station's two reviewers; confirmations: each owner; permits and appeals: the officer;
        # no access flag waits (oversight's digest: tests/oversight), no lodging guest stays long (tests/lodging).
        assert sent == {"submissions_waiting": 2, "confirmations_late": count, "permits_expiring": 1,
                        "appeals_waiting": 1, "access_flags_waiting": 0, "long_stays": 0}
        return len(queries)

    assert run(2, DAY) == run(20, DAY + days(1))


def test_officers_get_one_permit_digest_a_day_linking_to_the_permits_expiring(client, rental_a, officer_a, staff_a):
    with at(DAY - days(1)):
        expiring = [make_permit(rental_a, f"JZ-{i}", DAY + days(10 + i)) for i in range(3)]
        later = make_permit(rental_a, "JZ-LATER", DAY + days(31))
    with at(DAY):
        assert reminders_send(today=DAY)["permits_expiring"] == 1
        assert reminders_send(today=DAY)["permits_expiring"] == 0  # same day: nothing new
    digest = Notification.objects.get(kind="permit_expiring")
    assert digest.user == officer_a
    assert "3" in digest.title and "3" in digest.body
    assert digest.url == reverse("patrol:permit_list") + "?tab=issued&status=expiring"
    client.force_login(officer_a)
    with at(DAY):
        listed = client.get(digest.url).context["object_list"]
    assert sorted(p.pk for p in listed) == sorted(p.pk for p in expiring)
    # Next day the fourth permit comes within 30 days: a digest about it alone, counting four in all.
    with at(DAY + days(1)):
        assert reminders_send(today=DAY + days(1))["permits_expiring"] == 1
    digest = Notification.objects.filter(kind="permit_expiring").order_by("-id").first()
    assert later.number in digest.title and "4" in digest.body
    with at(DAY + days(2)):
        assert reminders_send(today=DAY + days(2))["permits_expiring"] == 0  # nothing new: no digest


def test_a_permit_entered_after_the_digest_already_close_to_expiry_is_in_the_next_one(rental_a, officer_a):
    with at(DAY - days(1)):
        make_permit(rental_a, "JZ-A", DAY + days(20))
    with at(DAY):
        assert reminders_send(today=DAY)["permits_expiring"] == 1
    with at(DAY, hour=15):  # a paper permit typed in that afternoon, expiring in five days
        make_permit(rental_a, "JZ-PAPER", DAY + days(5))
    with at(DAY + days(1)):
        assert reminders_send(today=DAY + days(1))["permits_expiring"] == 1
    assert "JZ-PAPER" in Notification.objects.filter(kind="permit_expiring").order_by("-id").first().title


def test_appeals_made_after_the_digest_are_in_the_next_days_digest(client, rental_a, landlord_a, officer_a):
    with at(DAY - days(1)):
        first = RatingAppeal.objects.create(property=rental_a, component="inspection", comment="x",
                                            created_by=landlord_a.user)
    with at(DAY):
        assert reminders_send(today=DAY)["appeals_waiting"] == 1
    with at(DAY, hour=15):
        second = RatingAppeal.objects.create(property=rental_a, component="occupancy", comment="y",
                                             created_by=landlord_a.user)
    with at(DAY + days(1)):
        assert reminders_send(today=DAY + days(1))["appeals_waiting"] == 1
        assert reminders_send(today=DAY + days(2))["appeals_waiting"] == 0
    digest = Notification.objects.filter(kind="appeal_waiting").order_by("-id").first()
    assert "1" in digest.title and "2" in digest.body and digest.url == reverse("review:appeal_list")
    client.force_login(officer_a)
    listed = client.get(digest.url).context["object_list"]
    assert sorted(a.pk for a in listed) == sorted([first.pk, second.pk])


def test_an_owner_late_at_several_properties_gets_one_digest_linking_to_the_portal(rental_a, landlord_a,
                                                                                   community_a):
    other = PropertyFactory(community=community_a, landlord=landlord_a, address="甲一路2号")
    ask_to_confirm(rental_a, DAY - days(8))
    ask_to_confirm(other, DAY - days(8))
    assert reminders_send(today=DAY)["confirmations_late"] == 1
    assert reminders_send(today=DAY)["confirmations_late"] == 0
    digest = Notification.objects.get(kind="confirmation_late")
    assert digest.user == landlord_a.user and "2" in digest.title and digest.url == reverse("portal:home")
    third = PropertyFactory(community=community_a, landlord=landlord_a, address="甲一路3号")
    ask_to_confirm(third, DAY - days(7))  # late from tomorrow
    assert reminders_send(today=DAY + days(1))["confirmations_late"] == 1
    digest = Notification.objects.filter(kind="confirmation_late").order_by("-id").first()
    assert third.address in digest.title and "3" in digest.body
    assert reminders_send(today=DAY + days(2))["confirmations_late"] == 0


def test_the_waiting_reports_digest_links_to_exactly_those_reports(client, rental_a, landlord_a, staff_a):
    old = make_submission(rental_a, landlord_a.user, DAY - datetime.timedelta(days=4))
    make_submission(rental_a, landlord_a.user, DAY - datetime.timedelta(days=1))  # not yet waiting too long
    today = DAY + datetime.timedelta(days=1)
    assert reminders_send(today=today)["submissions_waiting"] == 1
    digest = Notification.objects.get(kind="submission_waiting", user=staff_a)
    assert "1" in digest.title
    client.force_login(staff_a)
    queue = client.get(digest.url)
    assert queue.status_code == 200
    assert [submission.pk for submission, _check in queue.context["rows"]] == [old.pk]
