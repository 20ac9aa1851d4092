"""Reports from the portal and the review queue: arrival, departure, late, reject, withdraw, bulk approve."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from django.utils import timezone

from housing.factories import ResidenceFactory
from housing.models import Residence
from patrol.models import PropertyRating, VerificationRequest, VerificationRequestKind
from persons.factories import PersonFactory
from persons.identity import make_resident_id
from persons.models import Employment, Person
from portal.models import RatingAppeal, Submission
from registry.models import Notification

TODAY = timezone.localdate()
NUMBER = make_resident_id(birth_date=datetime.date(1995, 3, 8), sex="F", region="110101")


def arrival_data(unit, **overrides):
    data = {"unit": unit.pk, "document_type": "resident_id", "document_number": NUMBER, "name": "李小红",
            "phone": "13912345678", "date": TODAY.isoformat(), "reason": "work"}
    data.update(overrides)
    return data


def report_arrival(client, prop, **overrides):
    unit = prop.units.order_by("label").first()
    return client.post(reverse("portal:arrival_create", args=[prop.pk]), arrival_data(unit, **overrides))


@pytest.fixture
def landlord_client(client, landlord_a):
    client.force_login(landlord_a.user)
    return client


def test_reported_arrival_waits_for_review_and_registers_nobody(landlord_client, rental_a):
    response = report_arrival(landlord_client, rental_a)
    assert response.status_code == 302
    submission = Submission.objects.get()
    assert (submission.status, submission.kind, submission.is_late) == ("waiting", "arrival", False)
    assert submission.station_id == rental_a.station_id
    assert not Person.objects.filter(name="李小红").exists()
    assert not Residence.objects.exists()
    page = landlord_client.get(reverse("portal:submission_list")).content.decode()
    assert "李小红" in page and submission.document_masked in page and NUMBER not in page
    assert str(submission.get_status_display()) in page


def test_arrival_with_bad_fields_shows_each_field_error_and_saves_nothing(landlord_client, rental_a):
    response = report_arrival(landlord_client, rental_a, document_number=NUMBER[:-1] + "0" if NUMBER[-1] != "0"
                              else NUMBER[:-1] + "1", name="", date=(TODAY + datetime.timedelta(days=2)).isoformat())
    assert response.status_code == 200
    errors = response.context["form"].errors
    assert {"document_number", "name"} <= set(errors)
    assert not Submission.objects.exists()


def test_arrival_in_future_is_refused(landlord_client, rental_a):
    response = report_arrival(landlord_client, rental_a, date=(TODAY + datetime.timedelta(days=1)).isoformat())
    assert "date" in response.context["form"].errors
    assert not Submission.objects.exists()


def test_late_arrival_is_accepted_and_marked_late(landlord_client, rental_a):
    report_arrival(landlord_client, rental_a, date=(TODAY - datetime.timedelta(days=4)).isoformat())
    assert Submission.objects.get().is_late is True


def test_arrival_on_the_deadline_day_is_on_time(landlord_client, rental_a):
    report_arrival(landlord_client, rental_a, date=(TODAY - datetime.timedelta(days=3)).isoformat())
    assert Submission.objects.get().is_late is False


def test_the_same_arrival_cannot_wait_twice(landlord_client, rental_a):
    report_arrival(landlord_client, rental_a)
    response = report_arrival(landlord_client, rental_a)
    assert "document_number" in response.context["form"].errors
    assert Submission.objects.count() == 1


def test_staff_approval_registers_the_tenant_with_the_landlord_as_source(client, landlord_a, rental_a, staff_a):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a, date=(TODAY - datetime.timedelta(days=1)).isoformat())
    submission = Submission.objects.get()
    client.force_login(staff_a)
    queue = client.get(reverse("review:queue"))
    assert [s.pk for s, _check in queue.context["rows"]] == [submission.pk]
    response = client.post(reverse("review:decide", args=[submission.pk, "approve"]),
                           {"version": submission.version})
    assert response.status_code == 302
    residence = Residence.objects.get()
    assert (residence.person.name, residence.source, residence.status) == ("李小红", "landlord", "active")
    assert residence.reported_on == submission.reported_on and residence.unit_id == submission.unit_id
    submission.refresh_from_db()
    assert (submission.status, submission.residence_id, submission.decided_by_id) == ("approved", residence.pk,
                                                                                     staff_a.pk)
    note = Notification.objects.get(user=landlord_a.user)
    assert note.kind == "submission_decided"
    client.force_login(landlord_a.user)
    portal = client.get(reverse("portal:property_detail", args=[rental_a.pk])).content.decode()
    assert "李小红" in portal and residence.person.document_masked in portal and NUMBER not in portal


def test_rejection_reaches_the_landlord_with_its_reason(client, landlord_a, rental_a, staff_a,
                                                        django_capture_on_commit_callbacks):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    submission = Submission.objects.get()
    client.force_login(staff_a)
    empty = client.post(reverse("review:decide", args=[submission.pk, "reject"]), {"rejection_reason": "  "})
    assert empty.status_code == 400 and "rejection_reason" in empty.context["form"].errors
    submission.refresh_from_db()
    assert submission.status == "waiting"
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("review:decide", args=[submission.pk, "reject"]),
                    {"rejection_reason": "证件号码与身份证不符"})
    submission.refresh_from_db()
    assert (submission.status, submission.rejection_reason) == ("rejected", "证件号码与身份证不符")
    assert not Residence.objects.exists()
    note = Notification.objects.get(user=landlord_a.user)
    assert "证件号码与身份证不符" in note.body
    assert [m.to for m in mail.outbox if "证件号码与身份证不符" in m.body] == [["landlord_a@example.org"]]
    client.force_login(landlord_a.user)
    assert "证件号码与身份证不符" in client.get(reverse("portal:submission_list")).content.decode()


def test_a_decided_submission_cannot_be_decided_again(client, landlord_a, rental_a, staff_a):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    submission = Submission.objects.get()
    client.force_login(staff_a)
    client.post(reverse("review:decide", args=[submission.pk, "reject"]), {"rejection_reason": "重复"})
    client.post(reverse("review:decide", args=[submission.pk, "approve"]))
    submission.refresh_from_db()
    assert submission.status == "rejected" and not Residence.objects.exists()


def test_stale_approval_is_refused(client, landlord_a, rental_a, staff_a):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    submission = Submission.objects.get()
    client.force_login(staff_a)
    client.post(reverse("review:decide", args=[submission.pk, "approve"]), {"version": submission.version + 5})
    submission.refresh_from_db()
    assert submission.status == "waiting" and not Residence.objects.exists()


def test_departure_report_ends_the_registration_once_approved(client, landlord_a, rental_a, staff_a):
    residence = ResidenceFactory(unit=rental_a.units.first(), start_date=TODAY - datetime.timedelta(days=100))
    client.force_login(landlord_a.user)
    left_on = TODAY - datetime.timedelta(days=5)
    client.post(reverse("portal:departure_create", args=[rental_a.pk]),
                {"residence": residence.pk, "date": left_on.isoformat()})
    submission = Submission.objects.get()
    assert (submission.kind, submission.is_late, submission.residence_id) == ("departure", True, residence.pk)
    residence.refresh_from_db()
    assert residence.status == "active"
    client.force_login(staff_a)
    client.post(reverse("review:decide", args=[submission.pk, "approve"]))
    residence.refresh_from_db()
    assert (residence.status, residence.end_date, residence.end_reported_on) == ("ended", left_on, TODAY)


def test_departure_of_someone_not_living_there_is_refused(client, landlord_a, rental_a, rental_b):
    stranger = ResidenceFactory(unit=rental_b.units.first())
    client.force_login(landlord_a.user)
    response = client.post(reverse("portal:departure_create", args=[rental_a.pk]),
                           {"residence": stranger.pk, "date": TODAY.isoformat()})
    assert "residence" in response.context["form"].errors
    assert not Submission.objects.exists()


def test_landlord_can_withdraw_a_waiting_report_only(landlord_client, rental_a):
    report_arrival(landlord_client, rental_a)
    submission = Submission.objects.get()
    landlord_client.post(reverse("portal:submission_withdraw", args=[submission.pk]))
    submission.refresh_from_db()
    assert submission.status == "withdrawn"
    landlord_client.post(reverse("portal:submission_withdraw", args=[submission.pk]))
    submission.refresh_from_db()
    assert submission.status == "withdrawn"
    assert landlord_client.get(reverse("portal:submission_withdraw", args=[submission.pk])).status_code == 405


def test_identity_mismatch_is_shown_before_approval_and_blocks_it(client, landlord_a, rental_a, staff_a):
    known = PersonFactory(document_number=NUMBER, birth_date=datetime.date(1995, 3, 8), sex="F", name="李晓红")
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    submission = Submission.objects.get()
    client.force_login(staff_a)
    queue = client.get(reverse("review:queue"))
    check = dict(queue.context["rows"])[submission]
    assert check.person == known and check.name_differs and not check.birth_date_differs
    assert "differs" in queue.content.decode() or "不一致" in queue.content.decode()
    client.post(reverse("review:decide", args=[submission.pk, "approve"]))
    submission.refresh_from_db()
    assert submission.status == "waiting" and not Residence.objects.exists()


def test_bulk_approval_applies_the_good_ones_and_reports_the_rest(client, landlord_a, rental_a, staff_a):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    other = make_resident_id(birth_date=datetime.date(1990, 1, 2), sex="M", region="110101")
    report_arrival(client, rental_a, document_number=other, name="王大力")
    clash = make_resident_id(birth_date=datetime.date(1980, 6, 1), sex="M", region="110101")
    PersonFactory(document_number=clash, birth_date=datetime.date(1980, 6, 1), sex="M", name="赵四")
    report_arrival(client, rental_a, document_number=clash, name="赵五")
    client.force_login(staff_a)
    ids = list(Submission.objects.values_list("pk", flat=True))
    response = client.post(reverse("review:bulk_approve"), {"selected": ids}, follow=True)
    statuses = dict(Submission.objects.values_list("name", "status"))
    assert statuses == {"李小红": "approved", "王大力": "approved", "赵五": "waiting"}
    assert Residence.objects.count() == 2
    errors = [str(m) for m in response.context["messages"] if m.level_tag == "error"]
    assert len(errors) == 1 and str(Submission.objects.get(name="赵五").date) in errors[0]


def test_other_station_never_sees_the_report(client, landlord_a, rental_a, staff_b):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    submission = Submission.objects.get()
    client.force_login(staff_b)
    assert list(client.get(reverse("review:queue")).context["rows"]) == []
    assert client.post(reverse("review:decide", args=[submission.pk, "approve"])).status_code == 404
    submission.refresh_from_db()
    assert submission.status == "waiting"


@pytest.mark.parametrize("name", ["review:queue", "review:appeal_list"])
def test_review_pages_are_for_station_staff(client, landlord_a, name):
    assert client.get(reverse(name)).status_code == 302
    client.force_login(landlord_a.user)
    assert client.get(reverse(name)).status_code == 403


def test_home_lists_reports_waiting_for_review(client, landlord_a, rental_a, staff_a, staff_b):
    client.force_login(landlord_a.user)
    report_arrival(client, rental_a)
    client.force_login(staff_a)
    assert client.get(reverse("home")).context["waiting_count"] == 1
    client.force_login(staff_b)
    assert client.get(reverse("home")).context["waiting_count"] == 0


def test_review_queue_query_count_does_not_grow_with_page_size(client, landlord_a, rental_a, staff_a,
                                                               django_assert_max_num_queries):
    client.force_login(landlord_a.user)
    for i in range(6):
        number = make_resident_id(birth_date=datetime.date(1990, 1, 1 + i), sex="M", region="110101")
        report_arrival(client, rental_a, document_number=number, name=f"张{'一二三四五六'[i]}")
    residence = ResidenceFactory(unit=rental_a.units.first())
    client.post(reverse("portal:departure_create", args=[rental_a.pk]),
                {"residence": residence.pk, "date": TODAY.isoformat()})
    client.force_login(staff_a)
    client.get(reverse("review:queue"))  # warm the session and scope
    with django_assert_max_num_queries(12) as small:
        client.get(reverse("review:queue") + "?per_page=2")
    with django_assert_max_num_queries(len(small.captured_queries)):
        client.get(reverse("review:queue") + "?per_page=50")


# --- employers ------------------------------------------------------------------------------------

def test_employer_arrival_in_a_dormitory_records_the_employment(client, employer_a, dormitory_a, staff_a):
    client.force_login(employer_a.user)
    report_arrival(client, dormitory_a)
    client.force_login(staff_a)
    client.post(reverse("review:decide", args=[Submission.objects.get().pk, "approve"]))
    residence = Residence.objects.get()
    assert residence.source == "employer"
    assert Employment.objects.filter(person=residence.person, employer=employer_a).exists()
    client.force_login(employer_a.user)
    page = client.get(reverse("portal:employee_list")).content.decode()
    assert "李小红" in page and dormitory_a.address in page


def test_landlord_has_no_employee_page(landlord_client):
    assert landlord_client.get(reverse("portal:employee_list")).status_code == 403


# --- occupant confirmation ------------------------------------------------------------------------

def rate(prop, stars):
    PropertyRating.objects.filter(property=prop).update(is_current=False)
    return PropertyRating.objects.create(property=prop, computed_at=timezone.now(), run="test", stars=stars,
                                         total={5: 95, 4: 80, 3: 65, 2: 45, 1: 10}[stars])


def test_confirmation_at_four_stars_satisfies_verification(client, landlord_a, rental_a):
    unit = rental_a.units.first()
    stays = ResidenceFactory(unit=unit, status="unconfirmed", next_verification_due=TODAY - datetime.timedelta(days=3))
    leaves = ResidenceFactory(unit=unit, next_verification_due=TODAY - datetime.timedelta(days=3))
    rate(rental_a, 4)
    request = VerificationRequest.objects.create(property=rental_a, kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                                 opened_on=TODAY, due_since=TODAY)
    client.force_login(landlord_a.user)
    page = client.get(reverse("portal:property_detail", args=[rental_a.pk]))
    assert page.context["asked_to_confirm"] is True
    left_on = TODAY - datetime.timedelta(days=1)
    client.post(reverse("portal:occupants_confirm", args=[rental_a.pk]), {
        f"answer_{stays.pk}": "still", f"answer_{leaves.pk}": "left", f"left_on_{leaves.pk}": left_on.isoformat()})
    stays.refresh_from_db()
    assert stays.status == "active" and stays.next_verification_due > TODAY + datetime.timedelta(days=150)
    request.refresh_from_db()
    assert request.closed_on == TODAY
    departure = Submission.objects.get()
    assert (departure.kind, departure.residence_id, departure.date) == ("departure", leaves.pk, left_on)
    leaves.refresh_from_db()
    assert leaves.status == "active"


def test_confirmation_below_four_stars_does_not_replace_a_visit(client, landlord_a, rental_a):
    due = TODAY - datetime.timedelta(days=3)
    residence = ResidenceFactory(unit=rental_a.units.first(), next_verification_due=due)
    rate(rental_a, 3)
    client.force_login(landlord_a.user)
    client.post(reverse("portal:occupants_confirm", args=[rental_a.pk]), {f"answer_{residence.pk}": "still"})
    residence.refresh_from_db()
    assert residence.next_verification_due == due


def test_confirmation_must_answer_for_everyone(client, landlord_a, rental_a):
    first = ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY)
    second = ResidenceFactory(unit=rental_a.units.last())
    rate(rental_a, 5)
    client.force_login(landlord_a.user)
    response = client.post(reverse("portal:occupants_confirm", args=[rental_a.pk]), {f"answer_{first.pk}": "still"})
    assert f"answer_{second.pk}" in response.context["form"].errors
    first.refresh_from_db()
    assert first.next_verification_due == TODAY
    assert not Submission.objects.exists()


# --- appeals ------------------------------------------------------------------------------------

def test_landlord_appeals_a_component_and_the_officer_answers(client, landlord_a, rental_a, officer_a, staff_a):
    rating = rate(rental_a, 3)
    client.force_login(landlord_a.user)
    page = client.get(reverse("portal:property_detail", args=[rental_a.pk]))
    keys = [c.key for c in page.context["explained"]["components"]]
    assert keys == ["registration", "verification", "inspection", "occupancy", "agreement"]
    empty = client.post(reverse("portal:appeal_create", args=[rental_a.pk]), {"component": "inspection",
                                                                             "comment": ""})
    assert empty.status_code == 400 and not RatingAppeal.objects.exists()
    client.post(reverse("portal:appeal_create", args=[rental_a.pk]),
                {"component": "inspection", "comment": "上月已整改, 请复查"})
    appeal = RatingAppeal.objects.get()
    assert (appeal.rating, appeal.status) == (rating, "waiting")
    client.force_login(staff_a)
    assert client.get(reverse("review:appeal_list")).context["object_list"][0] == appeal
    assert client.post(reverse("review:appeal_answer", args=[appeal.pk]),
                       {"decision": "reject", "answer": "x"}).status_code == 403
    client.force_login(officer_a)
    client.post(reverse("review:appeal_answer", args=[appeal.pk]), {"decision": "accept", "answer": "已安排复查"})
    appeal.refresh_from_db()
    assert (appeal.status, appeal.answer, appeal.answered_by) == ("accepted", "已安排复查", officer_a)
    note = Notification.objects.get(user=landlord_a.user, kind="appeal_answered")
    assert note.body == "已安排复查"
    client.force_login(landlord_a.user)
    assert "已安排复查" in client.get(reverse("portal:property_detail", args=[rental_a.pk])).content.decode()


def test_portal_rating_shows_each_components_evidence_and_advice(client, landlord_a, rental_a, settings):
    settings.LANGUAGE_CODE = "en"
    rating = rate(rental_a, 3)
    PropertyRating.objects.filter(pk=rating.pk).update(
        registration=15, arrivals=4, arrivals_on_time=2, departures=0, departures_on_time=0,
        units_over_capacity=1, occupancy=0, last_inspection_on=TODAY - datetime.timedelta(days=30),
        last_inspection_passed=False, inspection=0)
    client.force_login(landlord_a.user)
    page = client.get(reverse("portal:property_detail", args=[rental_a.pk]), HTTP_ACCEPT_LANGUAGE="en")
    components = {c.key: c for c in page.context["explained"]["components"]}
    assert components["registration"].evidence.startswith("Reported within the deadline: 2 of 4 arrivals")
    assert "2 moves were reported late" in components["registration"].advice
    assert components["occupancy"].evidence == "1 unit over capacity."
    assert "failed" in components["inspection"].evidence and "inspect again" in components["inspection"].advice
    body = page.content.decode()
    assert "1 unit over capacity." in body and "15 / 30" in body
