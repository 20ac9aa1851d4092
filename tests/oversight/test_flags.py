"""Unusual access flagged nightly (issue 16, point 3): each rule fires on a crafted history and stays silent just
under its threshold; flags are reviewed by supervisors (audited, never overwritten), in their scope only."""

import datetime

import pytest
from django.utils import timezone, translation

from oversight.models import AccessFlag, FlagStatusChoices
from oversight.reminders import access_flags_waiting
from oversight.rules import after_hours, flags_for, large_export, many_persons, no_work_link, unmaskings
from oversight.tasks import access_flags_task
from patrol.models import ResidencePermit
from persons.factories import PersonFactory
from registry.factories import DistrictFactory, StationFactory, make_user
from registry.models import AuditAction, AuditEvent, Notification, TaskRun
from registry.roles import RoleChoices

DAY = datetime.date(2026, 11, 10)


def at(day: datetime.date, hour: int = 10, minute: int = 0) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time(hour, minute)))


def read(user, object_id, *, day=DAY, hour=10, action=AuditAction.VIEW, **extra):
    return AuditEvent(action=action, actor_id=user.pk, actor_username=user.username, object_type="persons.person",
                      object_id=str(object_id), at=at(day, hour), **extra)


def write(events):
    AuditEvent.objects.bulk_create(events)


def actors(found) -> set:
    return {hit["actor_id"] for hit in found}


def test_many_persons_fires_above_factor_times_the_users_median_and_the_floor(staff_a, officer_a):
    history = [read(user, n, day=DAY - datetime.timedelta(days=d)) for user in (staff_a, officer_a)
               for d in range(1, 6) for n in range(20)]  # 20 a day before
    write(history)
    write([read(staff_a, 1000 + n) for n in range(61)])  # 61 > 3 × 20 and > 50
    write([read(officer_a, 1000 + n) for n in range(60)])  # 60 = 3 × 20: not above
    found = many_persons(DAY)
    assert actors(found) == {staff_a.pk}
    assert found[0]["figures"] == {"persons": 61, "median": 20, "factor": 3, "floor": 50}


def test_many_persons_needs_the_floor_too_even_for_a_new_user(staff_a, officer_a):
    write([read(staff_a, n) for n in range(51)] + [read(officer_a, n) for n in range(50)])
    assert actors(many_persons(DAY)) == {staff_a.pk}


def test_unmaskings_above_the_rate(staff_a, officer_a):
    write([read(staff_a, n, action=AuditAction.UNMASK) for n in range(11)]
          + [read(officer_a, n, action=AuditAction.UNMASK) for n in range(10)])
    assert actors(unmaskings(DAY)) == {staff_a.pk}


def test_access_outside_working_hours(staff_a, officer_a):
    write([read(staff_a, 1, hour=22), read(officer_a, 1, hour=19), read(officer_a, 2, hour=7)])
    found = after_hours(DAY)
    assert actors(found) == {staff_a.pk} and found[0]["figures"]["events"] == 1


def test_exports_above_a_row_count(staff_a, officer_a):
    write([AuditEvent(action=AuditAction.EXPORT, actor_id=staff_a.pk, object_type="persons.person",
                      changes={"rows": 1001, "filters": {}}, at=at(DAY)),
           AuditEvent(action=AuditAction.EXPORT, actor_id=officer_a.pk, object_type="persons.person",
                      changes={"rows": 1000, "filters": {}}, at=at(DAY))])
    found = large_export(DAY)
    assert actors(found) == {staff_a.pk} and found[0]["figures"]["largest"] == 1001


def test_persons_with_no_work_link(staff_a, officer_a, station_a, station_b):
    elsewhere = [PersonFactory(registered_station=station_b) for _ in range(5)]
    write([read(staff_a, person.pk) for person in elsewhere])
    # The officer reads four of them, and one of the station's own residents: under the threshold of five.
    own = PersonFactory(registered_station=station_a)
    write([read(officer_a, person.pk) for person in elsewhere[:4]] + [read(officer_a, own.pk)])
    found = no_work_link(DAY)
    assert actors(found) == {staff_a.pk} and found[0]["figures"]["persons"] == 5


def test_work_done_on_a_person_is_a_link(staff_a, station_b):
    elsewhere = [PersonFactory(registered_station=station_b) for _ in range(5)]
    write([read(staff_a, person.pk) for person in elsewhere])
    # Staff A corrected one of them last week: four without a link, under the threshold.
    write([AuditEvent(action=AuditAction.UPDATE, actor_id=staff_a.pk, object_type="persons.person",
                      object_id=str(elsewhere[0].pk), at=at(DAY - datetime.timedelta(days=7)))])
    assert no_work_link(DAY) == []


def test_work_on_a_persons_residence_is_a_link_and_old_work_is_not(staff_a, station_b, community_b):
    from housing.factories import ResidenceFactory

    elsewhere = [ResidenceFactory(unit__property__community=community_b, person__registered_station=station_b)
                 for _ in range(6)]
    write([read(staff_a, residence.person_id) for residence in elsewhere])
    # Staff A corrected two of their registrations: one last week (a link), one 40 days ago (none any more).
    write([AuditEvent(action=AuditAction.UPDATE, actor_id=staff_a.pk, object_type="housing.residence",
                      object_id=str(residence.pk), at=at(DAY - datetime.timedelta(days=days)))
           for residence, days in [(elsewhere[0], 7), (elsewhere[1], 40)]])
    found = no_work_link(DAY)
    assert actors(found) == {staff_a.pk} and found[0]["figures"]["persons"] == 5
    write([AuditEvent(action=AuditAction.UPDATE, actor_id=staff_a.pk, object_type="housing.residence",
                      object_id=str(elsewhere[2].pk), at=at(DAY - datetime.timedelta(days=3)))])
    assert no_work_link(DAY) == []  # four without a link: under the threshold of five


def test_a_permit_the_station_issued_or_endorsed_in_the_window_is_a_link(staff_a, station_a, station_b):
    elsewhere = [PersonFactory(registered_station=station_b) for _ in range(6)]
    write([read(staff_a, person.pk) for person in elsewhere])
    # Station A issued one a permit three weeks ago and endorsed another's last week: four left, under five.
    back = datetime.timedelta
    for person, issued, endorsed in [(elsewhere[0], DAY - back(days=21), None),
                                     (elsewhere[1], DAY - back(days=300), DAY - back(days=7))]:
        ResidencePermit.objects.create(person=person, station=station_a, number=f"JZ-{person.pk}", issued_on=issued,
                                       expires_on=issued + datetime.timedelta(days=365), last_endorsed_on=endorsed)
    assert no_work_link(DAY) == []
    # A permit issued long ago, never endorsed since, is no link: one more person read without one fires it.
    old = PersonFactory(registered_station=station_b)
    ResidencePermit.objects.create(person=old, station=station_a, number="JZ-old", issued_on=DAY - back(days=200),
                                   expires_on=DAY + back(days=165))
    write([read(staff_a, old.pk)])
    found = no_work_link(DAY)
    assert actors(found) == {staff_a.pk} and found[0]["figures"]["persons"] == 5


def test_the_nightly_task_writes_each_flag_once_and_records_its_run(staff_a, station_a):
    write([read(staff_a, n, hour=23) for n in range(3)])
    assert access_flags_task.delay(DAY.isoformat()).get()["after_hours"] == 1
    assert access_flags_task.delay(DAY.isoformat()).get()["after_hours"] == 0
    flag = AccessFlag.objects.get()
    assert (flag.actor_id, flag.station_id, flag.rule, flag.day) == (staff_a.pk, station_a.pk, "after_hours", DAY)
    assert TaskRun.objects.filter(task="access_flags", status="ok").count() == 2


@pytest.fixture
def flag(staff_a):
    write([read(staff_a, n, hour=23) for n in range(3)])
    flags_for(DAY)
    return AccessFlag.objects.get()


def test_a_supervisor_reviews_a_flag_and_the_review_is_audited(client, supervisor, flag):
    client.force_login(supervisor)
    page = client.get("/audit/flags/")
    assert flag.actor_username in page.content.decode()
    assert f"user={flag.actor_id}" in page.content.decode()  # the events behind it
    with translation.override("en"):
        assert flag.describe() == "3 reads, unmaskings or exports outside working hours (07:00–20:00)."
    answer = client.post(f"/audit/flags/{flag.pk}/review/", {"verdict": "justified", "note": "夜间出警核查"})
    assert answer.status_code == 302
    flag.refresh_from_db()
    assert (flag.status, flag.review_note, flag.reviewed_by) == ("justified", "夜间出警核查", supervisor)
    event = AuditEvent.objects.get(object_type="oversight.accessflag", object_id=str(flag.pk))
    assert event.changes == {"status": ["open", "justified"]} and event.actor_id == supervisor.pk
    # A second review does not overwrite the first.
    client.post(f"/audit/flags/{flag.pk}/review/", {"verdict": "not_justified", "note": "x"})
    flag.refresh_from_db()
    assert flag.status == "justified"


def test_a_review_needs_a_note(client, supervisor, flag):
    client.force_login(supervisor)
    client.post(f"/audit/flags/{flag.pk}/review/", {"verdict": "justified", "note": ""})
    flag.refresh_from_db()
    assert flag.status == FlagStatusChoices.OPEN


def test_flags_stay_in_their_district_and_staff_cannot_read_them(client, flag, staff_a):
    elsewhere = StationFactory(district=DistrictFactory(code="D98", name="他区"))
    other = make_user(RoleChoices.SUPERVISOR, username="other_sup", district=elsewhere.district)
    client.force_login(other)
    assert flag.actor_username not in client.get("/audit/flags/").content.decode()
    assert client.post(f"/audit/flags/{flag.pk}/review/", {"verdict": "justified", "note": "x"}).status_code == 404
    client.force_login(staff_a)
    assert client.get("/audit/flags/").status_code == 403


def test_the_daily_digest_tells_the_districts_supervisors(supervisor, flag):
    assert access_flags_waiting(DAY) == 1
    note = Notification.objects.get(user=supervisor)
    assert note.url == "/audit/flags/?status=open" and "1" in note.title
    assert access_flags_waiting(DAY) == 0  # once a day


def test_the_supervisors_home_page_counts_the_flags_waiting(client, supervisor, staff_a, flag):
    client.force_login(supervisor)
    page = client.get("/").content.decode()
    assert "/audit/flags/?status=open" in page
    assert client.get("/").context["flags_open"] == 1
    client.force_login(staff_a)
    assert client.get("/").context["flags_open"] is None  # staff are not told of flags, theirs or others'


def test_the_dashboard_shows_the_flags_waiting_too(client, supervisor, flag):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    assert page.context["flags_open"] == 1 and "/audit/flags/?status=open" in page.content.decode()
