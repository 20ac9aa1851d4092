"""A landlord cannot see, by page, API, search or guessed URL, any property or person not theirs."""

import datetime
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory
from patrol.models import Inspection, Visit
from portal.models import RatingAppeal, Submission

TODAY = datetime.date.today()


def _routes(resolver=None, prefix=""):
    """Every URL pattern of the project as (route string, name)."""
    resolver = resolver or get_resolver()
    for entry in resolver.url_patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            yield from _routes(entry, route)
        elif isinstance(entry, URLPattern):
            yield route, entry.name


@pytest.fixture
def strangers(community_b, station_b, staff_b):
    """Everything of another landlord that a guessed id could point at. Their ids are far from any of
    landlord A's own rows, so that a 200 on a guessed URL can only be a leak."""
    from housing.factories import LandlordFactory, PropertyFactory, UnitFactory
    from persons.factories import PersonFactory
    from registry.factories import make_user
    from registry.roles import RoleChoices

    user = make_user(RoleChoices.LANDLORD, username="landlord_far")
    landlord = LandlordFactory(pk=900001, station=station_b, user=user, name="远方房东")
    prop = PropertyFactory(pk=900002, community=community_b, landlord=landlord, address="远方路99号")
    unit = UnitFactory(pk=900003, property=prop, label="999室")
    person = PersonFactory(pk=900004, name="陌生人")
    residence = ResidenceFactory(pk=900005, unit=unit, person=person, start_date=TODAY - datetime.timedelta(days=20))
    submission = Submission.objects.create(pk=900006, kind="departure", property=prop, unit=unit,
                                           residence=residence, date=TODAY, reported_on=TODAY, submitted_by=user)
    appeal = RatingAppeal.objects.create(pk=900007, property=prop, component="inspection", comment="x",
                                         created_by=user)
    visit = Visit.objects.create(pk=900008, property=prop, visited_on=TODAY, visited_by=staff_b)
    inspection = Inspection.objects.create(pk=900009, property=prop, inspected_on=TODAY, inspector=staff_b,
                                           fire_extinguishers=True, escape_routes=True, wiring=True,
                                           partitions=True, gas=True)
    return {"residence": residence, "person": person, "property": prop, "unit": unit, "landlord": landlord,
            "submission": submission, "appeal": appeal, "visit": visit, "inspection": inspection}


def _secrets(strangers) -> list[str]:
    person = strangers["person"]
    return [person.name, person.document_number, person.document_masked, strangers["property"].address,
            strangers["landlord"].name]


def _fill(route: str, pk: int) -> str | None:
    """A concrete path for a route with integer ids filled in; None for routes with other parameters."""
    path = route.lstrip("^").rstrip("$")
    if re.search(r"<(?!int:)[^>]+>|\(\?P", path):
        return None
    return "/" + re.sub(r"<int:[^>]+>", str(pk), path)


def test_every_page_with_an_id_hides_other_landlords_records(client, landlord_a, rental_a, strangers):
    client.force_login(landlord_a.user)
    ids = {obj.pk for obj in strangers.values()}
    checked = 0
    for route, name in _routes():
        if "<int:" not in route or route.startswith("admin/"):
            continue
        for pk in ids:
            path = _fill(route, pk)
            if path is None:
                continue
            response = client.get(path)
            checked += 1
            assert response.status_code in (403, 404, 405), f"{name} {path}: {response.status_code}"
            body = response.content.decode(errors="replace")
            for secret in _secrets(strangers):
                assert secret not in body, f"{name} {path} shows {secret!r}"
    assert checked > 100  # the walk really covered the project's pages and API


def test_lists_search_and_exports_show_only_own_records(client, landlord_a, rental_a, strangers):
    own = ResidenceFactory(unit=rental_a.units.first())
    client.force_login(landlord_a.user)
    for path in ["/", "/portal/", "/portal/reports/", f"/portal/properties/{rental_a.pk}/"]:
        response = client.get(path, follow=True)
        assert response.status_code == 200
        body = response.content.decode()
        for secret in _secrets(strangers):
            assert secret not in body, f"{path} shows {secret!r}"
    assert own.person.name in client.get(f"/portal/properties/{rental_a.pk}/").content.decode()
    person = strangers["person"]
    for query in [person.name, person.document_number, person.document_number[-4:], person.phone,
                  strangers["property"].address]:
        assert client.get("/search/", {"q": query}, follow=True).status_code == 403
    assert client.get("/exports/persons/").status_code in (403, 404)


@pytest.mark.parametrize("resource", ["persons", "properties", "units", "residences", "landlords", "employers",
                                      "employments", "submissions", "appeals", "changes"])
def test_api_lists_hold_nothing_of_other_landlords(landlord_a, rental_a, strangers, resource):
    api = APIClient()
    api.force_authenticate(landlord_a.user)
    response = api.get(f"/api/v1/{resource}/")
    assert response.status_code in (200, 403)
    body = response.content.decode()
    for secret in _secrets(strangers):
        assert secret not in body, f"/api/v1/{resource}/ shows {secret!r}"
    if response.status_code == 200 and resource in ("properties", "units", "residences", "submissions"):
        ids = {row["id"] for row in response.json()["results"]}
        foreign = {"properties": strangers["property"].pk, "units": strangers["unit"].pk,
                   "residences": strangers["residence"].pk, "submissions": strangers["submission"].pk}[resource]
        assert foreign not in ids


def test_the_owners_change_feed_lists_no_visits_or_inspections(landlord_a, rental_a, staff_a):
    from patrol.models import Inspection, Visit
    from registry.changes import changes_sequence

    Visit.objects.create(property=rental_a, visited_on=TODAY, visited_by=staff_a)
    Inspection.objects.create(property=rental_a, inspected_on=TODAY, inspector=staff_a, fire_extinguishers=True,
                              escape_routes=True, wiring=True, partitions=True, gas=True)
    ResidenceFactory(unit=rental_a.units.first())
    changes_sequence()
    api = APIClient()
    api.force_authenticate(landlord_a.user)
    types = {entry["type"] for entry in api.get("/api/v1/changes/").json()["results"]}
    assert "housing.residence" in types
    assert not types & {"patrol.visit", "patrol.inspection", "patrol.visitoutcome"}
