import datetime

import pytest
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory, UnitFactory
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices

TODAY = datetime.date.today()
BORN = datetime.date(1990, 6, 1)


@pytest.fixture
def api(staff_a):
    client = APIClient()
    client.force_authenticate(staff_a)
    return client


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a)


def _registration(unit, **extra):
    return {"document_number": make_resident_id(birth_date=BORN, sex="M"), "name": "刘洋", "sex": "M",
            "birth_date": BORN.isoformat(), "unit": unit.pk, "start_date": TODAY.isoformat(), "reason": "work",
            **extra}


def test_register_creates_person_and_residence_with_api_source(api, unit_a):
    response = api.post("/api/v1/persons/register/", _registration(unit_a), format="json")
    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["source"] == "api" and body["status"] == "active" and body["unit"] == unit_a.pk
    assert Person.objects.get(pk=body["person"]).registered_station_id == unit_a.property.station_id


def test_register_with_bad_input_is_a_400_naming_each_field_and_saves_nothing(api, unit_a):
    data = _registration(unit_a, document_number="110101199001011234", name="", reason="party")
    response = api.post("/api/v1/persons/register/", data, format="json")
    assert response.status_code == 400
    body = response.json()
    assert body["error"] == "validation_error"
    assert {"document_number", "name", "reason"} <= set(body["fields"])
    assert not Person.objects.exists()


def test_register_into_another_stations_unit_is_refused_as_unknown(api, community_b):
    foreign = UnitFactory(property__community=community_b)
    response = api.post("/api/v1/persons/register/", _registration(foreign), format="json")
    assert response.status_code == 400 and "unit" in response.json()["fields"]


def test_a_retried_registration_with_the_same_idempotency_key_creates_nothing_twice(api, unit_a):
    data = _registration(unit_a)
    first = api.post("/api/v1/persons/register/", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    again = api.post("/api/v1/persons/register/", data, format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == again.status_code == 201
    assert again["Idempotent-Replayed"] == "true" and again.json() == first.json()
    assert Person.objects.count() == 1
    other = api.post("/api/v1/persons/register/", _registration(unit_a), format="json", HTTP_IDEMPOTENCY_KEY="k-1")
    assert other.status_code == 422


def test_a_failed_request_does_not_burn_its_idempotency_key(api, unit_a):
    data = _registration(unit_a, name="")
    assert api.post("/api/v1/persons/register/", data, format="json", HTTP_IDEMPOTENCY_KEY="k-2").status_code == 400
    fixed = {**data, "name": "刘洋"}
    # The failed attempt stored nothing, so the corrected retry may reuse the key.
    assert api.post("/api/v1/persons/register/", fixed, format="json",
                    HTTP_IDEMPOTENCY_KEY="k-2").status_code == 201
    assert Person.objects.count() == 1


def test_person_update_needs_the_current_etag(api, unit_a):
    residence = ResidenceFactory(unit=unit_a)
    url = f"/api/v1/persons/{residence.person_id}/"
    etag = api.get(url)["ETag"]
    assert api.patch(url, {"occupation": "厨师"}, format="json").status_code == 428
    ok = api.patch(url, {"occupation": "厨师"}, format="json", HTTP_IF_MATCH=etag)
    assert ok.status_code == 200 and ok["ETag"] != etag and ok.json()["occupation"] == "厨师"
    stale = api.patch(url, {"occupation": "司机"}, format="json", HTTP_IF_MATCH=etag)
    assert stale.status_code == 412 and stale.json()["error"] == "stale"
    residence.person.refresh_from_db()
    assert residence.person.occupation == "厨师"


def test_person_update_with_bad_phone_is_400_not_500(api, unit_a):
    residence = ResidenceFactory(unit=unit_a)
    url = f"/api/v1/persons/{residence.person_id}/"
    response = api.patch(url, {"phone": "123", "version": residence.person.version}, format="json")
    assert response.status_code == 400 and "phone" in response.json()["fields"]


def test_unmask_through_the_api_needs_a_reason_and_is_audited(api, unit_a):
    person = ResidenceFactory(unit=unit_a).person
    url = f"/api/v1/persons/{person.pk}/unmask/"
    assert api.post(url, {}, format="json").status_code == 400
    response = api.post(url, {"reason": "核对身份"}, format="json")
    assert response.json() == {"document_number": person.document_number}
    assert AuditEvent.objects.filter(action=AuditAction.UNMASK, via="api", reason="核对身份").count() == 1
    listing = api.get("/api/v1/persons/").content.decode()
    assert person.document_number not in listing and person.document_masked in listing


def test_landlord_cannot_use_staff_person_endpoints(db, unit_a):
    client = APIClient()
    client.force_authenticate(make_user(RoleChoices.LANDLORD, username="ll"))
    assert client.get("/api/v1/persons/").status_code == 403


def test_residence_end_with_stale_version_is_412_and_changes_nothing(api, unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=TODAY - datetime.timedelta(days=9))
    url = f"/api/v1/residences/{residence.pk}/end/"
    ending = {"end_date": TODAY.isoformat(), "end_reason": "other"}
    stale = api.post(url, {**ending, "version": residence.version + 1}, format="json")
    assert stale.status_code == 412
    ok = api.post(url, {**ending, "version": residence.version}, format="json")
    assert ok.status_code == 200 and ok.json()["status"] == "ended"


def test_person_list_query_count_does_not_grow(api, community_a):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    ResidenceFactory.create_batch(2, unit__property__community=community_a)
    api.get("/api/v1/persons/")  # warm the per-user scope and permission caches
    with CaptureQueriesContext(connection) as few:
        api.get("/api/v1/persons/")
    ResidenceFactory.create_batch(20, unit__property__community=community_a)
    with CaptureQueriesContext(connection) as many:
        assert len(api.get("/api/v1/persons/").json()["results"]) == 22
    assert len(many.captured_queries) == len(few.captured_queries)


def test_an_ordering_the_list_does_not_offer_is_a_400_on_the_ordering_field(staff_a):
    # Sorting a station's persons by date of birth is not offered: no index serves it within a scope.
    from rest_framework.test import APIClient

    client = APIClient()
    client.force_authenticate(staff_a)
    response = client.get("/api/v1/persons/", {"ordering": "-birth_date"}, HTTP_ACCEPT_LANGUAGE="en")
    assert response.status_code == 400
    assert list(response.json()["fields"]) == ["ordering"]
    assert client.get("/api/v1/persons/", {"ordering": "-created"}).status_code == 200
