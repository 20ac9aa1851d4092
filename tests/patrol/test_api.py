"""The patrol API: visits, inspections, permits, ratings and verification requests over HTTP.

Writes go through the same services as the pages, so the effects checked here are the pages' effects;
every endpoint gets the access cases (anonymous, wrong role, in scope, another station's record).
"""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Residence
from patrol.models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, Visit, VisitOutcome
from registry.factories import make_user
from registry.roles import RoleChoices

D = datetime.date
TODAY = D(2026, 6, 1)
CHECKLIST = {item: True for item in Inspection.CHECKLIST}


@pytest.fixture(autouse=True)
def _frozen():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False):
        yield


def api(user) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en")
    if user is not None:
        client.force_authenticate(user)
    return client


def units(prop):
    return {unit.label: unit for unit in prop.units.all()}


def make_permit(residence, number, *, issued_on, expires_on):
    return ResidencePermit.objects.create(person=residence.person, station_id=residence.station_id, number=number,
                                          issued_on=issued_on, expires_on=expires_on, last_endorsed_on=issued_on)


def rate(prop, stars, *, current=True):
    return PropertyRating.objects.create(property=prop, computed_at="2026-05-01T00:00Z", run="t", stars=stars,
                                         total=80 if stars else None, is_current=current)


def visit_body(prop, *outcomes, visited_on="2026-06-01", note=""):
    return {"property": prop.pk, "visited_on": visited_on, "note": note,
            "outcomes": [{"residence": r.pk, "outcome": o, "moved_out_on": d} for r, o, d in outcomes]}


def nothing_changed(*residences):
    for residence in residences:
        before = (residence.status, residence.end_date, residence.next_verification_due, residence.version)
        residence.refresh_from_db()
        if (residence.status, residence.end_date, residence.next_verification_due, residence.version) != before:
            return False
    return not Visit.objects.exists() and not VisitOutcome.objects.exists()


# ---- visits -------------------------------------------------------------------------------------------


def test_a_visit_over_the_api_has_the_effects_of_the_visit_page(staff_a, rental_a):
    rooms = units(rental_a)
    confirmed = ResidenceFactory(unit=rooms["101室"], start_date=D(2026, 1, 1), next_verification_due=D(2026, 5, 1))
    left = ResidenceFactory(unit=rooms["101室"], start_date=D(2026, 1, 1))
    missing = ResidenceFactory(unit=rooms["102室"], start_date=D(2026, 1, 1))
    rate(rental_a, 4)  # 4★: the next check is in 6 months
    VerificationRequest.objects.create(property=rental_a, kind="visit", opened_on=D(2026, 5, 2),
                                       due_since=D(2026, 5, 1))
    response = api(staff_a).post("/api/v1/visits/", visit_body(
        rental_a, (confirmed, "confirmed", None), (left, "moved_out", "2026-05-20"),
        (missing, "not_found", "2026-05-20"), note="门卫在"), format="json")

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["property"] == rental_a.pk and body["visited_on"] == "2026-06-01" and body["note"] == "门卫在"
    assert body["visited_by"] == staff_a.pk
    assert body["outcomes"] == [
        {"residence": confirmed.pk, "outcome": "confirmed", "moved_out_on": None},
        {"residence": left.pk, "outcome": "moved_out", "moved_out_on": "2026-05-20"},
        {"residence": missing.pk, "outcome": "not_found", "moved_out_on": None},  # the stray date is dropped
    ]
    for residence in (confirmed, left, missing):
        residence.refresh_from_db()
    assert (confirmed.status, confirmed.next_verification_due) == ("active", D(2026, 12, 1))
    assert (left.status, left.end_date) == ("ended", D(2026, 5, 20))
    assert (missing.status, missing.end_date) == ("unconfirmed", None)
    assert VerificationRequest.objects.get().closed_on == TODAY
    visit = Visit.objects.get()
    assert (visit.visited_by, visit.pk) == (staff_a, body["id"])
    # Nothing personal beyond residence ids, in the answer or when read back.
    for payload in (response.content.decode(), api(staff_a).get(f"/api/v1/visits/{visit.pk}/").content.decode()):
        for residence in (confirmed, left, missing):
            assert residence.person.name not in payload
            assert residence.person.document_number not in payload


def test_an_unrated_property_gets_its_next_check_in_three_months(staff_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    response = api(staff_a).post("/api/v1/visits/", visit_body(rental_a, (residence, "confirmed", None)),
                                 format="json")
    assert response.status_code == 201
    residence.refresh_from_db()
    assert residence.next_verification_due == D(2026, 9, 1)


def test_a_visit_to_an_empty_property_is_recorded_without_outcomes(staff_a, rental_a):
    response = api(staff_a).post("/api/v1/visits/", {"property": rental_a.pk, "visited_on": "2026-05-31"},
                                 format="json")
    assert response.status_code == 201 and response.json()["outcomes"] == []
    assert Visit.objects.get().visited_on == D(2026, 5, 31)


def test_a_residence_of_another_station_is_a_400_on_that_outcome_like_an_unknown_id_and_writes_nothing(
        staff_a, rental_a, rental_b):
    ours = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    theirs = ResidenceFactory(unit=rental_b.units.get(), start_date=D(2026, 1, 1))
    client = api(staff_a)
    foreign = client.post("/api/v1/visits/", visit_body(rental_a, (ours, "confirmed", None),
                                                        (theirs, "not_found", None)), format="json")
    unknown = client.post("/api/v1/visits/", {**visit_body(rental_a, (ours, "confirmed", None)), "outcomes": [
        {"residence": ours.pk, "outcome": "confirmed"}, {"residence": 987654321, "outcome": "not_found"}]},
        format="json")
    assert foreign.status_code == 400, foreign.content
    assert foreign.json()["error"] == "validation_error"
    assert foreign.json()["fields"] == {"outcomes.1.residence": [f'Invalid pk "{theirs.pk}" - object does not exist.']}
    # No existence oracle: another station's residence is answered like one that does not exist.
    assert unknown.status_code == 400
    assert unknown.json()["fields"] == {"outcomes.1.residence": ['Invalid pk "987654321" - object does not exist.']}
    assert nothing_changed(ours, theirs)


def test_a_resident_of_the_property_outside_the_callers_scope_does_not_exist_for_them(staff_a, rental_a, station_b):
    """A registration filed under another station (the property changed station since) is not the caller's to
    answer for, even though the service would find it at the property."""
    ours = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    filed_elsewhere = ResidenceFactory(unit=units(rental_a)["102室"], start_date=D(2026, 1, 1))
    Residence.objects.filter(pk=filed_elsewhere.pk).update(station=station_b)
    response = api(staff_a).post("/api/v1/visits/", visit_body(
        rental_a, (ours, "confirmed", None), (filed_elsewhere, "moved_out", "2026-05-01")), format="json")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["outcomes.1.residence"]
    assert nothing_changed(ours)
    filed_elsewhere.refresh_from_db()
    assert filed_elsewhere.status == "active"


def test_a_residence_of_another_property_of_the_same_station_is_refused(staff_a, rental_a, community_a):
    ours = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    next_door = ResidenceFactory(unit__property__community=community_a, start_date=D(2026, 1, 1))
    response = api(staff_a).post("/api/v1/visits/", visit_body(
        rental_a, (ours, "confirmed", None), (next_door, "moved_out", "2026-05-01")), format="json")
    assert response.status_code == 400
    assert response.json()["fields"] == {
        "outcomes": ["Some residents are not registered at this property any more; reload the page."]}
    assert nothing_changed(ours, next_door)


def test_a_property_of_another_station_is_a_400_on_property_like_an_unknown_one(staff_a, rental_b):
    theirs = ResidenceFactory(unit=rental_b.units.get(), start_date=D(2026, 1, 1))
    client = api(staff_a)
    foreign = client.post("/api/v1/visits/", visit_body(rental_b), format="json")
    unknown = client.post("/api/v1/visits/", {**visit_body(rental_b), "property": 987654321}, format="json")
    assert foreign.status_code == 400 and list(foreign.json()["fields"]) == ["property"]
    assert foreign.json()["fields"]["property"][0].replace(str(rental_b.pk), "ID") == \
        unknown.json()["fields"]["property"][0].replace("987654321", "ID")
    assert nothing_changed(theirs)


def test_every_rule_of_the_visit_page_answers_a_400_on_the_resident_concerned(staff_a, rental_a):
    rooms = units(rental_a)
    first = ResidenceFactory(unit=rooms["101室"], start_date=D(2026, 3, 1))
    second = ResidenceFactory(unit=rooms["102室"], start_date=D(2026, 3, 1))
    client = api(staff_a)

    def fields(*outcomes, **extra):
        response = client.post("/api/v1/visits/", {**visit_body(rental_a, *outcomes), **extra}, format="json")
        assert response.status_code == 400, response.content
        return response.json()["fields"]

    assert fields((first, "confirmed", None), (second, "moved_out", None)) == {
        "outcomes.1.moved_out_on": ["Moved out on: give the date the resident left."]}
    assert fields((first, "confirmed", None), (second, "moved_out", "2026-02-01")) == {
        "outcomes.1.moved_out_on": ["Moved out on: must not be before the move-in date (2026-03-01)."]}
    assert fields((first, "moved_out", "2026-05-31"), (second, "confirmed", None), visited_on="2026-05-30") == {
        "outcomes.0.moved_out_on": ["Moved out on: cannot be after the date of the visit."]}
    assert fields((first, "confirmed", None), (second, "confirmed", None), visited_on="2026-06-02") == {
        "visited_on": ["Visited on: cannot be in the future."]}
    # Every current resident needs an answer, as on the page; the missing one is named by its id.
    assert fields((first, "confirmed", None)) == {"outcomes": [
        f"Every current resident needs an answer (confirmed, moved out or not found); missing: residences "
        f"{second.pk}."]}
    assert "outcomes.0.outcome" in fields((first, "gone fishing", None), (second, "confirmed", None))
    assert list(fields((first, "confirmed", None), (first, "not_found", None), (second, "confirmed", None))) == [
        "outcomes"]  # the same residence twice
    assert "outcomes.0.residence" in client.post("/api/v1/visits/", {
        "property": rental_a.pk, "visited_on": "2026-06-01", "outcomes": [{"outcome": "confirmed"}]},
        format="json").json()["fields"]
    assert client.post("/api/v1/visits/", {"property": rental_a.pk, "visited_on": "2026-06-01",
                                           "outcomes": "everyone"}, format="json").json()["fields"] == {
        "outcomes": ['Expected a list of items but got type "str".']}
    assert nothing_changed(first, second)


def test_an_idempotency_key_replay_records_one_visit(staff_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    client = api(staff_a)
    body = visit_body(rental_a, (residence, "confirmed", None))
    first = client.post("/api/v1/visits/", body, format="json", HTTP_IDEMPOTENCY_KEY="visit-42")
    again = client.post("/api/v1/visits/", body, format="json", HTTP_IDEMPOTENCY_KEY="visit-42")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Visit.objects.count() == 1 and VisitOutcome.objects.count() == 1
    other = client.post("/api/v1/visits/", {**body, "note": "另一次"}, format="json", HTTP_IDEMPOTENCY_KEY="visit-42")
    assert other.status_code == 422 and Visit.objects.count() == 1


def test_a_refused_visit_keeps_its_idempotency_key_free_for_the_corrected_retry(staff_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    client = api(staff_a)
    bad = client.post("/api/v1/visits/", visit_body(rental_a, (residence, "moved_out", None)), format="json",
                      HTTP_IDEMPOTENCY_KEY="k1")
    good = client.post("/api/v1/visits/", visit_body(rental_a, (residence, "moved_out", "2026-05-01")),
                       format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert (bad.status_code, good.status_code) == (400, 201)
    residence.refresh_from_db()
    assert residence.status == "ended" and Visit.objects.count() == 1


def test_visits_are_listed_with_their_outcomes_and_filtered_by_property(staff_a, staff_b, rental_a, community_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    client = api(staff_a)
    client.post("/api/v1/visits/", visit_body(rental_a, (residence, "not_found", None)), format="json")
    other = PropertyFactory(community=community_a)
    client.post("/api/v1/visits/", {"property": other.pk, "visited_on": "2026-05-01"}, format="json")
    listed = client.get("/api/v1/visits/").json()["results"]
    assert [(v["property"], len(v["outcomes"])) for v in listed] == [(other.pk, 0), (rental_a.pk, 1)]
    only = client.get("/api/v1/visits/", {"property": rental_a.pk}).json()["results"]
    assert [v["property"] for v in only] == [rental_a.pk]
    assert [v["visited_on"] for v in client.get("/api/v1/visits/", {"visited_before": "2026-05-15"}).json()[
        "results"]] == ["2026-05-01"]
    assert api(staff_b).get("/api/v1/visits/").json()["results"] == []


def test_a_supervisor_reads_visits_but_records_none(supervisor, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2026, 1, 1))
    response = api(supervisor).post("/api/v1/visits/", visit_body(rental_a, (residence, "confirmed", None)),
                                    format="json")
    assert response.status_code == 403 and response.json()["error"] == "permission_denied"
    assert api(supervisor).get("/api/v1/visits/").status_code == 200
    assert nothing_changed(residence)


# ---- inspections --------------------------------------------------------------------------------------


def test_staff_cannot_record_an_inspection_but_an_officer_can(staff_a, officer_a, rental_a):
    body = {"property": rental_a.pk, "inspected_on": "2026-05-30", **CHECKLIST, "wiring": False, "notes": "电线老化"}
    refused = api(staff_a).post("/api/v1/inspections/", body, format="json")
    assert refused.status_code == 403 and not Inspection.objects.exists()

    response = api(officer_a).post("/api/v1/inspections/", body, format="json")
    assert response.status_code == 201, response.content
    inspection = Inspection.objects.get()
    assert (inspection.wiring, inspection.gas, inspection.passed) == (False, True, False)
    assert (inspection.inspector, inspection.notes, inspection.inspected_on) == (officer_a, "电线老化", D(2026, 5, 30))
    assert response.json() == {**response.json(), "id": inspection.pk, "passed": False, "wiring": False,
                               "inspector": officer_a.pk}
    # Staff may read them.
    assert [i["id"] for i in api(staff_a).get("/api/v1/inspections/").json()["results"]] == [inspection.pk]
    assert api(staff_a).get(f"/api/v1/inspections/{inspection.pk}/").json()["passed"] is False


def test_an_inspection_with_an_item_missing_a_future_date_or_a_foreign_property_saves_nothing(
        officer_a, rental_a, rental_b):
    client = api(officer_a)
    partial = {k: v for k, v in CHECKLIST.items() if k != "gas"}
    response = client.post("/api/v1/inspections/", {"property": rental_a.pk, "inspected_on": "2026-05-01",
                                                    **partial}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["gas"]
    response = client.post("/api/v1/inspections/", {"property": rental_a.pk, "inspected_on": "2026-06-02",
                                                    **CHECKLIST}, format="json")
    assert response.json()["fields"] == {"inspected_on": ["Inspected on: cannot be in the future."]}
    response = client.post("/api/v1/inspections/", {"property": rental_b.pk, "inspected_on": "2026-05-01",
                                                    **CHECKLIST}, format="json")
    assert response.status_code == 400 and list(response.json()["fields"]) == ["property"]
    assert not Inspection.objects.exists()


# ---- permits ------------------------------------------------------------------------------------------


def test_an_officer_issues_a_permit_to_an_eligible_resident(officer_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2025, 11, 1))
    response = api(officer_a).post("/api/v1/permits/issue/", {
        "residence": residence.pk, "number": " JZ-2026-0001 ", "issued_on": "2026-06-01"}, format="json")
    assert response.status_code == 201, response.content
    permit = ResidencePermit.objects.get()
    assert (permit.person, permit.number, permit.station_id) == (residence.person, "JZ-2026-0001",
                                                                 rental_a.station_id)
    assert (permit.issued_on, permit.expires_on) == (TODAY, D(2027, 6, 1))
    assert response["ETag"] == f'"{permit.pk}-2027-06-01"'
    body = response.json()
    assert (body["person"], body["person_name"], body["status"]) == (residence.person.pk, residence.person.name,
                                                                     "valid")
    assert residence.person.document_number not in response.content.decode()
    assert "document" not in " ".join(body)


def test_issue_follows_the_pages_rules(officer_a, rental_a):
    rooms = units(rental_a)
    holder = ResidenceFactory(unit=rooms["101室"], start_date=D(2025, 11, 1))
    make_permit(holder, "JZ-1", issued_on=D(2026, 5, 1), expires_on=D(2027, 5, 1))
    residence = ResidenceFactory(unit=rooms["102室"], start_date=D(2025, 11, 1))
    newcomer = ResidenceFactory(unit=rooms["102室"], start_date=D(2026, 3, 1))
    client = api(officer_a)

    def issue(residence, number, issued_on="2026-06-01"):
        return client.post("/api/v1/permits/issue/", {"residence": residence.pk, "number": number,
                                                      "issued_on": issued_on}, format="json")

    taken = issue(residence, "JZ-1")
    assert taken.status_code == 400 and list(taken.json()["fields"]) == ["number"]
    too_early = issue(residence, "JZ-2", issued_on="2026-04-01")
    assert too_early.status_code == 400
    assert too_early.json()["fields"]["non_field_errors"][0].startswith("Not eligible yet")
    not_eligible = issue(newcomer, "JZ-3")
    assert not_eligible.status_code == 400
    assert not_eligible.json()["fields"]["non_field_errors"][0].startswith("Not eligible yet")
    second = issue(holder, "JZ-4")
    assert second.json()["fields"]["non_field_errors"] == [
        "Not eligible: this person already holds a valid residence permit."]
    assert issue(residence, "JZ-5", issued_on="2026-06-02").json()["fields"] == {
        "issued_on": ["Issued on: cannot be in the future."]}
    assert ResidencePermit.objects.count() == 1


def test_issue_needs_the_officers_permission_and_a_residence_in_scope(staff_a, officer_a, rental_a, rental_b):
    ours = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2025, 1, 1))
    theirs = ResidenceFactory(unit=rental_b.units.get(), start_date=D(2025, 1, 1))
    body = {"residence": ours.pk, "number": "JZ-9", "issued_on": "2026-06-01"}
    assert api(staff_a).post("/api/v1/permits/issue/", body, format="json").status_code == 403
    client = api(officer_a)
    foreign = client.post("/api/v1/permits/issue/", {**body, "residence": theirs.pk}, format="json")
    unknown = client.post("/api/v1/permits/issue/", {**body, "residence": 987654321}, format="json")
    assert foreign.status_code == 400 and list(foreign.json()["fields"]) == ["residence"]
    assert foreign.json()["fields"]["residence"][0].replace(str(theirs.pk), "ID") == \
        unknown.json()["fields"]["residence"][0].replace("987654321", "ID")
    assert not ResidencePermit.objects.exists()


def test_an_idempotency_key_replay_issues_one_permit(officer_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2025, 1, 1))
    client = api(officer_a)
    body = {"residence": residence.pk, "number": "JZ-7", "issued_on": "2026-06-01"}
    first = client.post("/api/v1/permits/issue/", body, format="json", HTTP_IDEMPOTENCY_KEY="permit-7")
    again = client.post("/api/v1/permits/issue/", body, format="json", HTTP_IDEMPOTENCY_KEY="permit-7")
    assert (first.status_code, again.status_code) == (201, 201)
    assert again.json() == first.json() and again["ETag"] == first["ETag"]
    assert ResidencePermit.objects.count() == 1


def test_endorse_with_the_etag_extends_a_year_once(officer_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-SOON", issued_on=D(2025, 6, 20), expires_on=D(2026, 6, 20))
    client = api(officer_a)
    read = client.get(f"/api/v1/permits/{permit.pk}/")
    assert read.status_code == 200 and read["ETag"] == f'"{permit.pk}-2026-06-20"'
    assert read.json()["status"] == "expiring"

    endorsed = client.post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert endorsed.status_code == 200, endorsed.content
    permit.refresh_from_db()
    assert (permit.expires_on, permit.last_endorsed_on) == (D(2027, 6, 20), TODAY)
    assert endorsed["ETag"] == f'"{permit.pk}-2027-06-20"' and endorsed.json()["expires_on"] == "2027-06-20"

    # A second click with what was read before: stale, nothing extended twice.
    again = client.post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json", HTTP_IF_MATCH=read["ETag"])
    assert again.status_code == 412 and again.json()["error"] == "stale"
    by_body = client.post(f"/api/v1/permits/{permit.pk}/endorse/", {"expires_on": "2026-06-20"}, format="json")
    assert by_body.status_code == 412 and by_body.json()["error"] == "stale"
    assert "P-SOON" in by_body.json()["detail"]
    permit.refresh_from_db()
    assert permit.expires_on == D(2027, 6, 20)


def test_endorse_with_the_expiry_in_the_body_and_without_any_precondition(officer_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-OLD", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    client = api(officer_a)
    missing = client.post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json")
    assert missing.status_code == 428 and missing.json()["error"] == "precondition_required"
    response = client.post(f"/api/v1/permits/{permit.pk}/endorse/", {"expires_on": "2026-01-01"}, format="json")
    assert response.status_code == 200
    permit.refresh_from_db()
    assert permit.expires_on == D(2027, 6, 1)  # expired: a year from today


def test_endorse_refuses_a_permit_not_yet_due_staff_and_another_station(staff_a, staff_b, officer_a, rental_a):
    residence = ResidenceFactory(unit=units(rental_a)["101室"], start_date=D(2024, 1, 1))
    permit = make_permit(residence, "P-GOOD", issued_on=D(2026, 3, 1), expires_on=D(2027, 3, 1))
    etag = f'"{permit.pk}-2027-03-01"'
    too_early = api(officer_a).post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json", HTTP_IF_MATCH=etag)
    assert too_early.status_code == 400
    assert too_early.json()["fields"]["non_field_errors"] == [
        "Permit P-GOOD is not due for endorsement until 2027-01-30."]
    assert api(staff_a).post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json",
                             HTTP_IF_MATCH=etag).status_code == 403
    officer_b = make_user(RoleChoices.OFFICER, username="officer_b", station=staff_b.profile.station)
    assert api(officer_b).post(f"/api/v1/permits/{permit.pk}/endorse/", {}, format="json",
                               HTTP_IF_MATCH=etag).status_code == 404
    assert api(officer_b).get(f"/api/v1/permits/{permit.pk}/").status_code == 404
    permit.refresh_from_db()
    assert permit.expires_on == D(2027, 3, 1)


def test_permits_list_masks_holders_and_filters_like_the_page(staff_a, rental_a, rental_b):
    rooms = units(rental_a)
    expired, expiring, valid = ResidenceFactory.create_batch(3, unit=rooms["102室"], start_date=D(2024, 1, 1))
    make_permit(expired, "P-OLD", issued_on=D(2025, 1, 1), expires_on=D(2026, 1, 1))
    make_permit(expiring, "P-SOON", issued_on=D(2025, 6, 20), expires_on=D(2026, 6, 20))
    make_permit(valid, "P-GOOD", issued_on=D(2026, 3, 1), expires_on=D(2027, 3, 1))
    make_permit(ResidenceFactory(unit=rental_b.units.get(), start_date=D(2024, 1, 1)), "P-B",
                issued_on=D(2026, 3, 1), expires_on=D(2027, 3, 1))
    client = api(staff_a)
    response = client.get("/api/v1/permits/")
    rows = {p["number"]: p["status"] for p in response.json()["results"]}
    assert rows == {"P-OLD": "expired", "P-SOON": "expiring", "P-GOOD": "valid"}
    payload = response.content.decode()
    for residence in (expired, expiring, valid):
        assert residence.person.document_number not in payload
        assert residence.person.document_masked not in payload
    assert {p["number"] for p in client.get("/api/v1/permits/", {"status": "expired"}).json()["results"]} == {
        "P-OLD"}
    assert [p["number"] for p in client.get("/api/v1/permits/", {"ordering": "expires"}).json()["results"]] == [
        "P-OLD", "P-SOON", "P-GOOD"]


def test_eligible_lists_only_residents_in_scope_who_may_get_a_permit(staff_a, rental_a, rental_b):
    rooms = units(rental_a)
    eligible = ResidenceFactory(unit=rooms["101室"], start_date=D(2025, 11, 1))
    ResidenceFactory(unit=rooms["101室"], start_date=D(2026, 1, 2))  # too new
    holder = ResidenceFactory(unit=rooms["102室"], start_date=D(2024, 1, 1))
    make_permit(holder, "P-VALID", issued_on=D(2025, 12, 1), expires_on=D(2026, 12, 1))
    ResidenceFactory(unit=rental_b.units.get(), start_date=D(2024, 1, 1))  # another station
    response = api(staff_a).get("/api/v1/permits/eligible/")
    assert response.status_code == 200
    assert response.json()["results"] == [{
        "id": eligible.pk, "person": eligible.person_id, "person_name": eligible.person.name,
        "unit": eligible.unit_id, "unit_label": "101室", "property": rental_a.pk, "start_date": "2025-11-01",
        "eligible_since": "2026-05-01"}]


# ---- ratings and verification requests ------------------------------------------------------------------


def test_ratings_in_scope_with_components_evidence_and_filters(staff_a, staff_b, rental_a, rental_b, community_a):
    old = rate(rental_a, 2, current=False)
    current = rate(rental_a, 4)
    other = rate(PropertyFactory(community=community_a), 3)
    theirs = rate(rental_b, 5)
    client = api(staff_a)
    assert {r["id"] for r in client.get("/api/v1/ratings/").json()["results"]} == {old.pk, current.pk, other.pk}
    assert [r["id"] for r in client.get("/api/v1/ratings/", {"property": rental_a.pk, "current": "true"}).json()[
        "results"]] == [current.pk]
    assert {r["id"] for r in client.get("/api/v1/ratings/", {"current": "false"}).json()["results"]} == {old.pk}
    body = client.get(f"/api/v1/ratings/{current.pk}/").json()
    assert (body["stars"], body["total"], body["property"]) == (4, 80, rental_a.pk)
    for key in ("registration", "verification", "inspection", "occupancy", "agreement", "arrivals_on_time",
                "overdue_residents", "last_inspection_on", "units_over_capacity", "requests_unanswered"):
        assert key in body
    assert client.get(f"/api/v1/ratings/{theirs.pk}/").status_code == 404
    assert api(staff_b).get(f"/api/v1/ratings/{theirs.pk}/").status_code == 200


def test_verification_requests_filter_open_and_kind(staff_a, rental_a, community_a, rental_b):
    closed = VerificationRequest.objects.create(property=rental_a, kind="visit", opened_on=D(2026, 3, 1),
                                                due_since=D(2026, 3, 1), closed_on=D(2026, 3, 10))
    open_visit = VerificationRequest.objects.create(property=rental_a, kind="visit", opened_on=D(2026, 5, 2),
                                                    due_since=D(2026, 5, 1))
    open_owner = VerificationRequest.objects.create(property=PropertyFactory(community=community_a), kind="owner",
                                                    opened_on=D(2026, 5, 2), due_since=D(2026, 5, 1))
    theirs = VerificationRequest.objects.create(property=rental_b, kind="visit", opened_on=D(2026, 5, 2),
                                                due_since=D(2026, 5, 1))
    client = api(staff_a)

    def ids(**params):
        return {r["id"] for r in client.get("/api/v1/verification-requests/", params).json()["results"]}

    assert ids() == {closed.pk, open_visit.pk, open_owner.pk}
    assert ids(open="true") == {open_visit.pk, open_owner.pk}
    assert ids(open="true", kind="owner") == {open_owner.pk}
    assert ids(open="false") == {closed.pk}
    assert client.get(f"/api/v1/verification-requests/{theirs.pk}/").status_code == 404


@pytest.mark.parametrize("resource", ["visits", "ratings", "verification-requests", "inspections"])
def test_a_property_filter_outside_scope_looks_like_a_missing_id(staff_a, rental_b, resource):
    client = api(staff_a)
    out_of_scope = client.get(f"/api/v1/{resource}/", {"property": rental_b.pk})
    missing = client.get(f"/api/v1/{resource}/", {"property": 987654321})
    assert out_of_scope.status_code == missing.status_code == 400
    assert out_of_scope.json()["fields"]["property"][0].replace(str(rental_b.pk), "ID") == \
        missing.json()["fields"]["property"][0].replace("987654321", "ID")


# ---- access: every endpoint, every role ------------------------------------------------------------------


@pytest.fixture
def patrol_world(officer_a, landlord_a, rental_a, rental_b, employer_a, dormitory_a):
    """One record of each kind at the landlord's own property (station A) and one at station B."""
    def records(prop, suffix):
        residence = ResidenceFactory(unit=prop.units.first(), start_date=D(2025, 1, 1))
        visit = Visit.objects.create(property=prop, visited_on=D(2026, 5, 1))
        VisitOutcome.objects.create(visit=visit, residence=residence, outcome="confirmed")
        inspection = Inspection.objects.create(property=prop, inspected_on=D(2026, 5, 1), **CHECKLIST)
        permit = make_permit(residence, f"P-{suffix}", issued_on=D(2025, 7, 1), expires_on=D(2026, 7, 1))
        rating = rate(prop, 4)
        request = VerificationRequest.objects.create(property=prop, kind="visit", opened_on=D(2026, 5, 2),
                                                     due_since=D(2026, 5, 1))
        return {"residence": residence, "visits": visit, "inspections": inspection, "permits": permit,
                "ratings": rating, "verification-requests": request}

    return {"a": records(rental_a, "A"), "b": records(rental_b, "B"), "dorm": records(dormitory_a, "D")}


RESOURCES = ["visits", "inspections", "permits", "ratings", "verification-requests"]


def _users(request, name):
    if name == "anonymous":
        return None
    if name == "landlord":
        return request.getfixturevalue("landlord_a").user
    if name == "employer":
        return request.getfixturevalue("employer_a").user
    return request.getfixturevalue({"admin": "admin_user"}.get(name, name))


# role: (list, get own station's / own property's record, get station B's record)
READS = {
    "anonymous": (401, 401, 401),
    "staff_a": (200, 200, 404),
    "officer_a": (200, 200, 404),
    "staff_b": (200, 404, 200),
    "supervisor": (200, 200, 200),
    "landlord": (403, 403, 403),   # no patrol.view_* right, not even for the own property
    "employer": (403, 403, 403),
    "admin": (200, 200, 200),
}


@pytest.mark.parametrize("resource", RESOURCES)
@pytest.mark.parametrize("role", list(READS))
def test_reads_by_role_and_scope(request, patrol_world, role, resource):
    client = api(_users(request, role))
    own = patrol_world["dorm" if role == "employer" else "a"][resource]
    answers = (client.get(f"/api/v1/{resource}/"), client.get(f"/api/v1/{resource}/{own.pk}/"),
               client.get(f"/api/v1/{resource}/{patrol_world['b'][resource].pk}/"))
    assert tuple(r.status_code for r in answers) == READS[role]
    for response in answers:
        if response.status_code >= 400:
            assert set(response.json()) == {"error", "detail"}  # an error, never data
    if READS[role][0] == 200:
        model = type(own)
        user = _users(request, role)
        listed = {row["id"] for row in answers[0].json()["results"]}
        assert listed == set(model.objects.visible_to(user).values_list("pk", flat=True))


@pytest.mark.parametrize("role", ["anonymous", "landlord", "employer", "supervisor", "staff_a"])
def test_writes_are_refused_to_roles_without_the_right_and_change_nothing(request, patrol_world, role):
    a = patrol_world["a"]
    client = api(_users(request, role))
    expected_visit = 201 if role == "staff_a" else (401 if role == "anonymous" else 403)
    refused = 401 if role == "anonymous" else 403
    answers = {
        "visit": client.post("/api/v1/visits/", visit_body(a["visits"].property), format="json"),
        "inspection": client.post("/api/v1/inspections/", {"property": a["visits"].property_id,
                                                           "inspected_on": "2026-05-30", **CHECKLIST}, format="json"),
        "issue": client.post("/api/v1/permits/issue/", {"residence": a["residence"].pk, "number": "X-1",
                                                        "issued_on": "2026-06-01"}, format="json"),
        "endorse": client.post(f"/api/v1/permits/{a['permits'].pk}/endorse/", {"expires_on": "2026-07-01"},
                               format="json"),
        "eligible": client.get("/api/v1/permits/eligible/"),
    }
    if role == "staff_a":
        # A visit must answer for the resident; the other writes are for officers.
        assert answers["visit"].status_code == 400
        assert {k: r.status_code for k, r in answers.items() if k != "visit"} == {
            "inspection": 403, "issue": 403, "endorse": 403, "eligible": 200}
    else:
        assert {k: r.status_code for k, r in answers.items()} == {
            "visit": expected_visit, "inspection": refused, "issue": refused, "endorse": refused,
            "eligible": refused if role != "supervisor" else 200}
    assert Visit.objects.count() == 3 and Inspection.objects.count() == 3 and ResidencePermit.objects.count() == 3
    a["permits"].refresh_from_db()
    assert a["permits"].expires_on == D(2026, 7, 1)


def test_read_only_endpoints_refuse_writes(admin_user, patrol_world):
    client = api(admin_user)
    a = patrol_world["a"]
    assert client.post("/api/v1/ratings/", {}, format="json").status_code == 405
    assert client.post("/api/v1/verification-requests/", {}, format="json").status_code == 405
    for resource in RESOURCES:
        response = client.patch(f"/api/v1/{resource}/{a[resource].pk}/", {}, format="json")
        assert response.status_code == 405, resource
        assert client.delete(f"/api/v1/{resource}/{a[resource].pk}/").status_code == 405, resource
    assert (PropertyRating.objects.count(), VerificationRequest.objects.count()) == (3, 3)


# ---- query counts -----------------------------------------------------------------------------------------

SMALL, LARGE = 3, 25


def _make(resource, community, n):
    for _ in range(n):
        prop = PropertyFactory(community=community)
        unit = UnitFactory(property=prop)
        residence = ResidenceFactory(unit=unit, start_date=D(2025, 1, 1))
        if resource == "visits":
            visit = Visit.objects.create(property=prop, visited_on=D(2026, 5, 1))
            VisitOutcome.objects.create(visit=visit, residence=residence, outcome="confirmed")
            VisitOutcome.objects.create(visit=visit, residence=ResidenceFactory(unit=unit), outcome="not_found")
        elif resource == "inspections":
            Inspection.objects.create(property=prop, inspected_on=D(2026, 5, 1), **CHECKLIST)
        elif resource == "permits":
            make_permit(residence, f"P-{residence.pk}", issued_on=D(2025, 7, 1), expires_on=D(2026, 7, 1))
        elif resource == "ratings":
            rate(prop, 3)
        elif resource == "verification-requests":
            VerificationRequest.objects.create(property=prop, kind="visit", opened_on=D(2026, 5, 2),
                                               due_since=D(2026, 5, 1))
        elif resource != "permits/eligible":
            raise AssertionError(resource)


# A page is one query; visits add one for all their outcomes (prefetched).
CEILINGS = {"visits": 2, "inspections": 1, "permits": 1, "permits/eligible": 1, "ratings": 1,
            "verification-requests": 1}


@pytest.mark.parametrize("resource", list(CEILINGS))
def test_list_queries_do_not_grow_with_rows(staff_a, community_a, resource):
    client = api(staff_a)
    client.get(f"/api/v1/{resource}/")  # warm the user's permission and scope caches

    def count():
        with CaptureQueriesContext(connection) as queries:
            response = client.get(f"/api/v1/{resource}/", {"page_size": 200})
        assert response.status_code == 200, response.content[:300]
        return len(queries), len(response.json()["results"]), [q["sql"] for q in queries.captured_queries]

    _make(resource, community_a, SMALL)
    small, rows_small, _sql = count()
    _make(resource, community_a, LARGE - SMALL)
    large, rows_large, sql = count()
    assert (rows_small, rows_large) == (SMALL, LARGE)
    assert small == large, f"{resource}: {small} queries for {rows_small} rows, {large} for {rows_large}:\n" + (
        "\n".join(sql))
    assert large <= CEILINGS[resource], f"{resource}: {large} queries:\n" + "\n".join(sql)

