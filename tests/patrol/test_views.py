"""Patrol pages: record a visit, record an inspection, residence permits, periodic tasks."""

import datetime

import pytest
import time_machine
from celery.schedules import crontab
from django.urls import reverse
from django.utils import timezone, translation

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Residence
from patrol.models import Inspection, ResidencePermit, VerificationRequest, Visit, VisitOutcome
from patrol.views import run_name, schedule_in_words
from registry.factories import make_user
from registry.models import TaskRun
from registry.roles import RoleChoices

D = datetime.date
TODAY = D(2026, 6, 1)
frozen = time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
PERMITS = reverse("patrol:permit_list")
TASKS = reverse("patrol:task_runs")


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a, property__address="幸福路12号", label="101室", capacity=4)


@pytest.fixture
def unit_b(community_b):
    return UnitFactory(property__community=community_b, property__address="西山路7号", label="201室")


@pytest.fixture
def landlord_user(community_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    LandlordFactory(station=community_a.station, user=user)
    return user


def visit_url(prop):
    return reverse("patrol:visit_create", args=[prop.pk])


def inspection_url(prop):
    return reverse("patrol:inspection_create", args=[prop.pk])


def issue_url(residence):
    return reverse("patrol:permit_issue", args=[residence.pk])


def endorse_url(permit):
    return reverse("patrol:permit_endorse", args=[permit.pk])


def make_permit(residence, number, *, issued_on, expires_on):
    return ResidencePermit.objects.create(person=residence.person, station_id=residence.station_id, number=number,
                                          issued_on=issued_on, expires_on=expires_on, last_endorsed_on=issued_on)


def errors_of(response, field):
    return response.context["form"].errors.get(field, [])


# ---- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_every_patrol_page(client, unit_a):
    residence = ResidenceFactory(unit=unit_a)
    permit = make_permit(residence, "P-1", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    login = reverse("login")
    for url in [visit_url(unit_a.property), inspection_url(unit_a.property), PERMITS, issue_url(residence), TASKS]:
        response = client.get(url)
        assert response.status_code == 302 and login in response["Location"], url
    response = client.post(endorse_url(permit), {"expires_on": "2026-01-01"})
    assert response.status_code == 302 and login in response["Location"]


def test_landlord_gets_403_on_patrol_pages_even_for_own_property(client, landlord_user, community_a):
    landlord = landlord_user.landlord
    unit = UnitFactory(property__community=community_a, property__landlord=landlord)
    residence = ResidenceFactory(unit=unit, start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-1", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    client.force_login(landlord_user)
    for url in [visit_url(unit.property), inspection_url(unit.property), PERMITS, issue_url(residence), TASKS]:
        assert client.get(url).status_code == 403, url
    assert client.post(visit_url(unit.property), {"visited_on": "2026-01-01"}).status_code == 403
    assert client.post(endorse_url(permit), {"expires_on": "2026-01-01"}).status_code == 403
    assert not Visit.objects.exists()


def test_other_stations_property_residence_and_permit_are_404(client, staff_a, officer_a, unit_b):
    residence = ResidenceFactory(unit=unit_b, start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-B", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    client.force_login(staff_a)
    assert client.get(visit_url(unit_b.property)).status_code == 404
    response = client.post(visit_url(unit_b.property), {"visited_on": "2026-01-01",
                                                        f"outcome_{residence.pk}": "not_found"})
    assert response.status_code == 404
    client.force_login(officer_a)
    assert client.get(inspection_url(unit_b.property)).status_code == 404
    assert client.get(issue_url(residence)).status_code == 404
    assert client.post(endorse_url(permit), {"expires_on": "2026-01-01"}).status_code == 404
    residence.refresh_from_db()
    permit.refresh_from_db()
    assert residence.status == "active" and permit.expires_on == D(2026, 1, 1) and not Visit.objects.exists()


def test_staff_in_scope_records_visits_and_reads_permits_but_not_inspections_or_issuing(client, staff_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    client.force_login(staff_a)
    assert client.get(visit_url(unit_a.property)).status_code == 200
    assert client.get(PERMITS).status_code == 200
    assert client.get(PERMITS, {"tab": "issued"}).status_code == 200
    assert client.get(inspection_url(unit_a.property)).status_code == 403
    assert client.get(issue_url(residence)).status_code == 403
    assert client.get(TASKS).status_code == 403


def test_officer_in_scope_sees_inspection_and_issue_pages(client, officer_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    client.force_login(officer_a)
    for url in [visit_url(unit_a.property), inspection_url(unit_a.property), PERMITS, issue_url(residence)]:
        assert client.get(url).status_code == 200, url


def test_supervisor_reads_permits_but_records_no_visit(client, supervisor, unit_a):
    client.force_login(supervisor)
    assert client.get(PERMITS).status_code == 200
    assert client.get(visit_url(unit_a.property)).status_code == 403
    assert client.get(inspection_url(unit_a.property)).status_code == 403


def test_task_page_is_for_administrators_only(client, admin_user, officer_a, supervisor):
    for user in (officer_a, supervisor):
        client.force_login(user)
        assert client.get(TASKS).status_code == 403
    client.force_login(admin_user)
    assert client.get(TASKS).status_code == 200


# ---- visits -----------------------------------------------------------------------------------------


@frozen
def test_visit_page_lists_current_residents_masked_with_next_due_and_a_register_link_per_unit(
        client, staff_a, unit_a):
    living = ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 1), next_verification_due=D(2026, 5, 1))
    gone = ResidenceFactory(unit=unit_a, start_date=D(2025, 1, 1), status="ended", end_date=D(2025, 6, 1))
    empty_unit = UnitFactory(property=unit_a.property, label="102室")
    client.force_login(staff_a)
    body = client.get(visit_url(unit_a.property)).content.decode()
    assert living.person.name in body and living.person.document_masked in body
    assert living.person.document_number not in body
    assert "2026-05-01" in body and "Due" in body
    assert gone.person.name not in body
    register = reverse("persons:register")
    assert f"{register}?unit={unit_a.pk}" in body and f"{register}?unit={empty_unit.pk}" in body
    assert 'value="2026-06-01"' in body  # the visit date defaults to today


@frozen
def test_visit_applies_each_outcome_and_goes_back_to_the_property(client, staff_a, unit_a):
    confirmed, left, missing = ResidenceFactory.create_batch(3, unit=unit_a, start_date=D(2026, 1, 1),
                                                             next_verification_due=D(2026, 5, 1))
    VerificationRequest.objects.create(property=unit_a.property, kind="visit", opened_on=D(2026, 5, 2),
                                       due_since=D(2026, 5, 1))
    client.force_login(staff_a)
    response = client.post(visit_url(unit_a.property), {
        "visited_on": "2026-06-01", "note": "门卫在",
        f"outcome_{confirmed.pk}": "confirmed",
        f"outcome_{left.pk}": "moved_out", f"moved_out_on_{left.pk}": "2026-05-20",
        f"outcome_{missing.pk}": "not_found", f"moved_out_on_{missing.pk}": "2026-05-20",  # ignored
    }, follow=True)
    assert response.redirect_chain[-1][0] == reverse("housing:property_detail", args=[unit_a.property_id])
    assert "1 confirmed, 1 moved out, 1 not found" in response.content.decode()
    for residence in (confirmed, left, missing):
        residence.refresh_from_db()
    assert (confirmed.status, confirmed.next_verification_due) == ("active", D(2026, 9, 1))  # unrated: 3 months
    assert (left.status, left.end_date) == ("ended", D(2026, 5, 20))
    assert (missing.status, missing.end_date) == ("unconfirmed", None)
    visit = Visit.objects.get()
    assert (visit.visited_by, visit.note, visit.visited_on) == (staff_a, "门卫在", TODAY)
    assert dict(VisitOutcome.objects.values_list("residence_id", "moved_out_on")) == {
        confirmed.pk: None, left.pk: D(2026, 5, 20), missing.pk: None}
    assert VerificationRequest.objects.get().closed_on == TODAY


@frozen
def test_moved_out_without_a_date_shows_the_error_on_that_resident_and_saves_nothing(client, staff_a, unit_a):
    first, second = ResidenceFactory.create_batch(2, unit=unit_a, start_date=D(2026, 1, 1))
    client.force_login(staff_a)
    response = client.post(visit_url(unit_a.property), {
        "visited_on": "2026-06-01", f"outcome_{first.pk}": "confirmed", f"outcome_{second.pk}": "moved_out"})
    assert response.status_code == 200
    assert errors_of(response, f"moved_out_on_{second.pk}") == ["Moved out on: give the date the resident left."]
    assert "Nothing was saved" in response.content.decode()
    assert not Visit.objects.exists()
    assert set(Residence.objects.values_list("status", flat=True)) == {"active"}


@frozen
def test_every_resident_needs_an_answer(client, staff_a, unit_a):
    first, second = ResidenceFactory.create_batch(2, unit=unit_a, start_date=D(2026, 1, 1))
    client.force_login(staff_a)
    response = client.post(visit_url(unit_a.property), {"visited_on": "2026-06-01", f"outcome_{first.pk}": "confirmed"})
    assert response.status_code == 200
    assert errors_of(response, f"outcome_{second.pk}") == [
        f"{second.person.name}: choose confirmed, moved out or not found."]
    assert not Visit.objects.exists()


@frozen
def test_moved_out_before_moving_in_or_after_the_visit_is_refused(client, staff_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2026, 3, 1))
    client.force_login(staff_a)
    for date, message in [("2026-02-01", "Moved out on: must not be before the move-in date (2026-03-01)."),
                          ("2026-05-31", None)]:
        response = client.post(visit_url(unit_a.property), {
            "visited_on": "2026-05-30", f"outcome_{residence.pk}": "moved_out",
            f"moved_out_on_{residence.pk}": date})
        assert response.status_code == 200
        errors = errors_of(response, f"moved_out_on_{residence.pk}")
        assert errors == [message] if message else errors == ["Moved out on: cannot be after the date of the visit."]
    assert not Visit.objects.exists()


@frozen
def test_a_visit_in_the_future_is_refused_by_the_service_and_shown_on_the_date(client, staff_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 1))
    client.force_login(staff_a)
    response = client.post(visit_url(unit_a.property), {"visited_on": "2026-06-02",
                                                        f"outcome_{residence.pk}": "confirmed"})
    assert response.status_code == 200
    assert errors_of(response, "visited_on") == ["Visited on: cannot be in the future."]
    assert not Visit.objects.exists()


# ---- inspections ------------------------------------------------------------------------------------


CHECKLIST_PASS = {item: "pass" for item in Inspection.CHECKLIST}


def test_inspection_page_labels_items_with_the_models_names(client, officer_a, unit_a):
    client.force_login(officer_a)
    body = client.get(inspection_url(unit_a.property)).content.decode()
    for item in Inspection.CHECKLIST:
        label = str(Inspection._meta.get_field(item).verbose_name)
        assert label[0].upper() + label[1:] in body


@frozen
def test_inspection_records_each_item_and_passes_only_if_all_pass(client, officer_a, unit_a):
    client.force_login(officer_a)
    response = client.post(inspection_url(unit_a.property), {
        "inspected_on": "2026-05-30", **CHECKLIST_PASS, "wiring": "fail", "notes": "电线老化"})
    assert response.status_code == 302
    assert response["Location"] == reverse("housing:property_detail", args=[unit_a.property_id])
    inspection = Inspection.objects.get()
    assert (inspection.wiring, inspection.gas, inspection.passed) == (False, True, False)
    assert (inspection.inspector, inspection.notes, inspection.inspected_on) == (officer_a, "电线老化", D(2026, 5, 30))
    client.post(inspection_url(unit_a.property), {"inspected_on": "2026-06-01", **CHECKLIST_PASS})
    assert Inspection.objects.latest("inspected_on").passed is True


def test_inspection_with_an_item_unanswered_or_a_future_date_saves_nothing(client, officer_a, unit_a):
    client.force_login(officer_a)
    partial = {k: v for k, v in CHECKLIST_PASS.items() if k != "gas"}
    response = client.post(inspection_url(unit_a.property), {"inspected_on": "2026-01-05", **partial})
    assert response.status_code == 200
    assert errors_of(response, "gas") == ["Gas installation safe: choose pass or fail."]
    tomorrow = (timezone.localdate() + datetime.timedelta(days=1)).isoformat()
    response = client.post(inspection_url(unit_a.property), {"inspected_on": tomorrow, **CHECKLIST_PASS})
    assert errors_of(response, "inspected_on") == ["Inspected on: cannot be in the future."]
    assert not Inspection.objects.exists()


# ---- permits ----------------------------------------------------------------------------------------


@frozen
def test_eligible_tab_lists_six_months_residents_without_a_valid_permit(client, officer_a, staff_a, unit_a, unit_b):
    eligible = ResidenceFactory(unit=unit_a, start_date=D(2025, 11, 1))
    too_new = ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 2))
    holder = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    make_permit(holder, "P-VALID", issued_on=D(2025, 12, 1), expires_on=D(2026, 12, 1))
    elsewhere = ResidenceFactory(unit=unit_b, start_date=D(2024, 1, 1))
    client.force_login(officer_a)
    response = client.get(PERMITS)
    assert list(response.context["page_obj"].object_list) == [eligible]
    body = response.content.decode()
    assert eligible.person.document_masked in body and "2026-05-01" in body  # eligible since
    assert issue_url(eligible) in body
    for other in (too_new, holder, elsewhere):
        assert other.person.name not in body
    client.force_login(staff_a)
    assert issue_url(eligible) not in client.get(PERMITS).content.decode()  # staff see, officers issue


@frozen
def test_issued_tab_marks_expired_and_highlights_expiring_within_30_days(client, officer_a, unit_a):
    expired, expiring, valid = ResidenceFactory.create_batch(3, unit=unit_a, start_date=D(2024, 1, 1))
    make_permit(expired, "P-OLD", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    make_permit(expiring, "P-SOON", issued_on=D(2025, 6, 20), expires_on=D(2026, 6, 20))
    make_permit(valid, "P-GOOD", issued_on=D(2026, 3, 1), expires_on=D(2027, 3, 1))
    client.force_login(officer_a)
    response = client.get(PERMITS, {"tab": "issued"})
    rows = {p.number: p.expiry_state for p in response.context["page_obj"].object_list}
    assert rows == {"P-SOON": "expiring", "P-GOOD": "valid", "P-OLD": "expired"}
    assert list(rows) == ["P-SOON", "P-GOOD", "P-OLD"]  # what needs action first
    body = response.content.decode()
    assert body.count("table-warning") == 1 and "Expires in 19 days" in body
    assert "Expired</span>" in body
    assert body.count(">Endorse<") == 2  # the valid permit is not due yet
    expired_only = client.get(PERMITS, {"tab": "issued", "status": "expired"}).context["page_obj"].object_list
    assert [p.number for p in expired_only] == ["P-OLD"]


@frozen
def test_officer_issues_a_permit_to_an_eligible_resident(client, officer_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2025, 11, 1))
    client.force_login(officer_a)
    response = client.post(issue_url(residence), {"number": " JZ-2026-0001 ", "issued_on": "2026-06-01"})
    assert response.status_code == 302 and response["Location"] == PERMITS + "?tab=issued"
    permit = ResidencePermit.objects.get()
    assert (permit.person, permit.number) == (residence.person, "JZ-2026-0001")
    assert permit.station_id == unit_a.property.station_id
    assert (permit.issued_on, permit.expires_on) == (TODAY, D(2027, 6, 1))
    assert not client.get(PERMITS).context["page_obj"].object_list  # no longer waiting


@frozen
def test_issue_refuses_a_taken_number_a_blank_one_and_an_issue_date_before_eligibility(client, officer_a, unit_a):
    holder, residence = ResidenceFactory.create_batch(2, unit=unit_a, start_date=D(2025, 11, 1))
    make_permit(holder, "JZ-1", issued_on=D(2026, 5, 1), expires_on=D(2027, 5, 1))
    client.force_login(officer_a)
    response = client.post(issue_url(residence), {"number": "JZ-1", "issued_on": "2026-06-01"})
    assert response.status_code == 200 and errors_of(response, "number")
    response = client.post(issue_url(residence), {"number": "", "issued_on": "2026-06-01"})
    assert errors_of(response, "number") == ["This field is required."]
    response = client.post(issue_url(residence), {"number": "JZ-2", "issued_on": "2026-04-01"})
    assert response.status_code == 200 and "Not eligible yet" in str(response.context["form"].non_field_errors())
    assert ResidencePermit.objects.count() == 1


@frozen
def test_issue_page_for_someone_not_eligible_offers_no_form_and_saves_nothing(client, officer_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2026, 3, 1))
    client.force_login(officer_a)
    assert "Not eligible" in client.get(issue_url(residence)).content.decode()
    response = client.post(issue_url(residence), {"number": "JZ-9", "issued_on": "2026-06-01"})
    assert response.status_code == 200 and "Not eligible" in response.content.decode()
    assert not ResidencePermit.objects.exists()


@frozen
def test_endorse_extends_by_a_year_once_even_if_posted_twice(client, officer_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-SOON", issued_on=D(2025, 6, 20), expires_on=D(2026, 6, 20))
    client.force_login(officer_a)
    seen = {"expires_on": "2026-06-20"}
    response = client.post(endorse_url(permit), seen)
    assert response.status_code == 302
    permit.refresh_from_db()
    assert (permit.expires_on, permit.last_endorsed_on) == (D(2027, 6, 20), TODAY)
    client.post(endorse_url(permit), seen)  # a second click from the same page
    permit.refresh_from_db()
    assert permit.expires_on == D(2027, 6, 20)


@frozen
def test_endorse_refuses_a_permit_not_yet_due_and_get_and_staff(client, officer_a, staff_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-GOOD", issued_on=D(2026, 3, 1), expires_on=D(2027, 3, 1))
    client.force_login(officer_a)
    assert client.get(endorse_url(permit)).status_code == 405
    response = client.post(endorse_url(permit), {"expires_on": "2027-03-01"}, follow=True)
    assert "not due for endorsement until 2027-01-30" in response.content.decode()
    client.force_login(staff_a)
    assert client.post(endorse_url(permit), {"expires_on": "2027-03-01"}).status_code == 403
    permit.refresh_from_db()
    assert permit.expires_on == D(2027, 3, 1)


@frozen
def test_endorse_goes_back_only_to_a_page_of_this_site(client, officer_a, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-OLD", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    client.force_login(officer_a)
    response = client.post(endorse_url(permit), {"expires_on": "2026-01-01", "next": "https://evil.example/"})
    assert response["Location"] == PERMITS + "?tab=issued"


@frozen
@pytest.mark.parametrize("tab", ["eligible", "issued"])
def test_permit_list_query_count_is_the_same_for_3_and_20_rows(client, officer_a, unit_a, tab,
                                                               django_assert_num_queries):
    def add(count):
        for _ in range(count):
            residence = ResidenceFactory(unit=unit_a, start_date=D(2025, 1, 1))
            if tab == "issued":
                make_permit(residence, f"P-{residence.pk}", issued_on=D(2025, 7, 1), expires_on=D(2026, 7, 1))

    add(3)
    client.force_login(officer_a)
    client.get(PERMITS, {"tab": tab})  # warm the session and permission caches
    # user with profile (scope), count, rows, unread notifications (the bell); session, permissions: cached
    with django_assert_num_queries(4):
        response = client.get(PERMITS, {"tab": tab})
    assert len(response.context["page_obj"].object_list) == 3
    add(17)
    with django_assert_num_queries(4):
        response = client.get(PERMITS, {"tab": tab})
    assert len(response.context["page_obj"].object_list) == 20


# ---- periodic tasks ---------------------------------------------------------------------------------


def test_task_page_shows_each_scheduled_task_with_its_last_run_and_the_last_20_runs(client, admin_user, settings):
    start = timezone.now() - datetime.timedelta(days=1)
    for n in range(25):
        TaskRun.objects.create(task="audit_purge_expired", started_at=start + datetime.timedelta(minutes=n),
                               finished_at=start + datetime.timedelta(minutes=n, seconds=2), status="ok",
                               rows_changed=n)
    TaskRun.objects.create(task="verification_sweep", started_at=start, finished_at=start + datetime.timedelta(
        minutes=2, seconds=5), status="failed", rows_changed=0, result="OperationalError('locked')")
    client.force_login(admin_user)
    response = client.get(TASKS)
    tasks = {task["name"]: task for task in response.context["tasks"]}
    assert set(tasks) == set(settings.CELERY_BEAT_SCHEDULE)
    assert tasks["rating-recalculate-all"]["schedule"] == "Every day at 01:00"
    assert tasks["rating-recalculate-all"]["last_run"] is None
    assert tasks["audit-purge-expired"]["last_run"].rows_changed == 24
    assert tasks["verification-sweep"]["last_run"].status == "failed"
    assert len(response.context["recent_runs"]) == 20
    body = response.content.decode()
    assert "2 min 5 s" in body and "OperationalError" in body and "Not run yet." in body
    assert "patrol.tasks.verification_sweep_task" in body


@translation.override("en")
def test_schedules_read_as_words_and_runs_are_matched_to_their_tasks():
    assert schedule_in_words(crontab(hour=3, minute=30)) == "Every day at 03:30"
    assert schedule_in_words(crontab(hour=4, minute=0, day_of_week=1)) == "Every Monday at 04:00"
    assert schedule_in_words(crontab(minute=15)) == "Every hour at minute 15"
    assert schedule_in_words(datetime.timedelta(minutes=5)) == "Every 5 minutes"
    assert schedule_in_words(3600) == "Every hour"
    assert schedule_in_words(crontab(minute="*/10")) == "Cron: */10 * * * *"
    assert run_name("patrol.tasks.verification_sweep_task") == "verification_sweep"
    assert run_name("registry.tasks.audit_purge_expired") == "audit_purge_expired"


# ---- the property page ------------------------------------------------------------------------------


def test_property_page_offers_a_visit_and_shows_open_verification_requests(client, staff_a, unit_a):
    VerificationRequest.objects.create(property=unit_a.property, kind="visit", opened_on=D(2026, 5, 2),
                                       due_since=D(2026, 5, 1), escalated_on=D(2026, 5, 20))
    VerificationRequest.objects.create(property=unit_a.property, kind="visit", opened_on=D(2025, 5, 2),
                                       due_since=D(2025, 4, 7), closed_on=D(2025, 5, 9))
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_detail", args=[unit_a.property_id])).content.decode()
    assert visit_url(unit_a.property) in body and "Record a visit here" in body
    assert "Re-verification due since 2026-05-01" in body and "Supervisor told on 2026-05-20" in body
    assert "2025-04-07" not in body  # closed requests are history
    assert inspection_url(unit_a.property) not in body  # staff don't inspect


@frozen
def test_property_page_shows_the_current_rating_with_components_and_evidence(client, officer_a, unit_a):
    from patrol.rating import property_rate

    prop = unit_a.property
    prop.agreement_signed_on = D(2025, 1, 1)
    prop.save()
    ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 1), reported_on=D(2026, 1, 2),
                     next_verification_due=D(2026, 9, 1))
    Inspection.objects.create(property=prop, inspected_on=D(2026, 2, 1), fire_extinguishers=True,
                              escape_routes=True, wiring=True, partitions=True, gas=True)
    rating = property_rate(property_id=prop.pk, today=TODAY)
    client.force_login(officer_a)
    body = client.get(reverse("housing:property_detail", args=[prop.pk])).content.decode()
    assert rating.stars == 5 and "★★★★★" in body and "100 points" in body
    assert "Rating: not yet rated" not in body
    assert "1 of 1 arrivals" in body and "0 of 1 current residents overdue" in body
    assert "Passed on 2026-02-01." in body and "Every unit within capacity." in body
    assert "Signed on 2025-01-01; reminders answered." in body
    assert inspection_url(prop) in body


def test_property_page_without_a_rating_says_not_yet_rated(client, staff_a, community_a):
    prop = PropertyFactory(community=community_a)
    client.force_login(staff_a)
    body = client.get(reverse("housing:property_detail", args=[prop.pk])).content.decode()
    assert "Rating: not yet rated" in body
