"""Submissions and appeals over the API: owners report, staff decide, nobody sees past their scope."""

import datetime

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory
from housing.models import Residence
from persons.identity import make_resident_id
from portal.models import RatingAppeal, Submission

TODAY = datetime.date.today()
NUMBER = make_resident_id(birth_date=datetime.date(1993, 7, 1), sex="M", region="110101")
URL = "/api/v1/submissions/"


def api(user):
    client = APIClient()
    client.force_authenticate(user)
    return client


def arrival_body(prop, **overrides):
    body = {"property": prop.pk, "unit": prop.units.order_by("label").first().pk, "document_type": "resident_id",
            "document_number": NUMBER, "name": "周大成", "date": TODAY.isoformat(), "reason": "work"}
    body.update(overrides)
    return body


def test_landlord_reports_an_arrival_and_staff_approves_it(landlord_a, rental_a, staff_a):
    response = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json",
                                         HTTP_IDEMPOTENCY_KEY="k-1")
    assert response.status_code == 201, response.content
    assert response.data["status"] == "waiting" and response.data["document_masked"] != NUMBER
    assert NUMBER not in response.content.decode()
    again = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json",
                                      HTTP_IDEMPOTENCY_KEY="k-1")
    assert (again.status_code, again.json()["id"]) == (201, response.data["id"])  # replayed, not re-created
    assert Submission.objects.count() == 1
    pk = response.data["id"]
    no_version = api(staff_a).post(f"{URL}{pk}/approve/", {}, format="json")
    assert no_version.status_code == 428
    approved = api(staff_a).post(f"{URL}{pk}/approve/", {"version": response.data["version"]}, format="json")
    assert approved.status_code == 200 and approved.data["status"] == "approved"
    assert Residence.objects.get().source == "landlord"


def test_post_to_arrival_action_with_bad_fields_is_a_400_naming_them(landlord_a, rental_a):
    response = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a, document_number="123", name=""),
                                         format="json")
    assert response.status_code == 400
    assert {"document_number", "name"} <= set(response.json()["fields"])
    assert not Submission.objects.exists()


def test_landlord_cannot_report_into_another_landlords_property(landlord_a, rental_b):
    response = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_b), format="json")
    assert response.status_code == 400 and "property" in response.json()["fields"]
    assert not Submission.objects.exists()


def test_staff_cannot_report_and_owners_cannot_approve(landlord_a, rental_a, staff_a):
    assert api(staff_a).post(URL + "arrival/", arrival_body(rental_a), format="json").status_code == 403
    submission = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json").data
    response = api(landlord_a.user).post(f"{URL}{submission['id']}/approve/", {"version": 1}, format="json")
    assert response.status_code == 403
    assert Submission.objects.get().status == "waiting"


def test_lists_stay_in_scope(landlord_a, landlord_b, rental_a, rental_b, staff_a, staff_b):
    mine = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json").data["id"]
    other_number = make_resident_id(birth_date=datetime.date(1990, 2, 2), sex="F", region="110101")
    theirs = api(landlord_b.user).post(URL + "arrival/", arrival_body(rental_b, document_number=other_number),
                                       format="json").data["id"]
    assert [r["id"] for r in api(landlord_a.user).get(URL).data["results"]] == [mine]
    assert [r["id"] for r in api(staff_a).get(URL).data["results"]] == [mine]
    assert [r["id"] for r in api(staff_b).get(URL).data["results"]] == [theirs]
    assert api(landlord_a.user).get(f"{URL}{theirs}/").status_code == 404
    assert api(staff_a).post(f"{URL}{theirs}/reject/", {"rejection_reason": "x", "version": 1},
                             format="json").status_code == 404


def test_departure_and_reject_with_reason(landlord_a, rental_a, staff_a):
    residence = ResidenceFactory(unit=rental_a.units.first(), start_date=TODAY - datetime.timedelta(days=30))
    response = api(landlord_a.user).post(URL + "departure/", {"property": rental_a.pk, "residence": residence.pk,
                                                              "date": TODAY.isoformat()}, format="json")
    assert response.status_code == 201 and response.data["person_name"] == residence.person.name
    pk = response.data["id"]
    blank = api(staff_a).post(f"{URL}{pk}/reject/", {"rejection_reason": "", "version": 1}, format="json")
    assert blank.status_code == 400
    rejected = api(staff_a).post(f"{URL}{pk}/reject/", {"rejection_reason": "人还在住", "version": 1}, format="json")
    assert rejected.status_code == 200 and rejected.data["rejection_reason"] == "人还在住"
    residence.refresh_from_db()
    assert residence.status == "active"


def test_withdraw_only_while_waiting(landlord_a, rental_a):
    created = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json").data
    first = api(landlord_a.user).post(f"{URL}{created['id']}/withdraw/", {"version": created["version"]},
                                      format="json")
    assert first.status_code == 200 and first.data["status"] == "withdrawn"
    second = api(landlord_a.user).post(f"{URL}{created['id']}/withdraw/", {"version": first.data["version"]},
                                       format="json")
    assert second.status_code == 400


@pytest.mark.parametrize("field,value", [("component", "popularity"), ("comment", "")])
def test_appeal_with_bad_input_is_a_400(landlord_a, rental_a, field, value):
    body = {"property": rental_a.pk, "component": "inspection", "comment": "已整改"}
    body[field] = value
    response = api(landlord_a.user).post("/api/v1/appeals/", body, format="json")
    assert response.status_code == 400 and field in response.json()["fields"]
    assert not RatingAppeal.objects.exists()


def test_appeal_created_over_the_api_is_visible_to_the_station_only(landlord_a, rental_a, staff_a, staff_b):
    response = api(landlord_a.user).post("/api/v1/appeals/", {"property": rental_a.pk, "component": "inspection",
                                                              "comment": "已整改"}, format="json")
    assert response.status_code == 201
    assert [a["id"] for a in api(staff_a).get("/api/v1/appeals/").data["results"]] == [response.data["id"]]
    assert api(staff_b).get("/api/v1/appeals/").data["results"] == []
    assert api(staff_a).post("/api/v1/appeals/", {"property": rental_a.pk, "component": "inspection",
                                                  "comment": "x"}, format="json").status_code == 403


def test_submissions_filter_by_the_day_they_were_sent_in_and_refuse_a_bad_date(landlord_a, rental_a, staff_a):
    created = api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json")
    assert created.status_code == 201
    Submission.objects.filter(pk=created.data["id"]).update(
        created_at=timezone.now() - datetime.timedelta(days=3))
    recent = api(landlord_a.user).post(URL + "arrival/", arrival_body(
        rental_a, document_number=make_resident_id(birth_date=datetime.date(1990, 1, 2), sex="F", region="110101"),
        name="钱小红"), format="json")
    assert recent.status_code == 201
    before = (timezone.localdate() - datetime.timedelta(days=1)).isoformat()
    listed = api(staff_a).get(URL, {"submitted_before": before})
    assert listed.status_code == 200
    assert [row["id"] for row in listed.data["results"]] == [created.data["id"]]
    bad = api(staff_a).get(URL, {"submitted_before": "yesterday"})
    assert bad.status_code == 400 and "submitted_before" in bad.content.decode()


@pytest.mark.parametrize(("day", "found"), [("0001-01-01", 0), ("0001-01-02", 0), ("9999-12-31", 1)])
def test_submitted_before_the_calendars_ends_is_no_error(landlord_a, rental_a, staff_a, day, found):
    assert api(landlord_a.user).post(URL + "arrival/", arrival_body(rental_a), format="json").status_code == 201
    listed = api(staff_a).get(URL, {"submitted_before": day})
    assert listed.status_code == 200 and len(listed.data["results"]) == found
