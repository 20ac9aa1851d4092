"""The person list's filters (issue 17, point 4): community, property, residence status, verification, permit status
and move-in dates, one FilterSet for the page and the API; both answer the same persons for the same data, within
the caller's scope only, refusing choices outside it, without a query per row."""

import datetime

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from rest_framework.test import APIClient

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.services import residence_end
from patrol.models import ResidencePermit
from registry.factories import CommunityFactory

LIST = reverse("persons:person_list")
TODAY = datetime.date.today()


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def world(community_a, community_b):
    """Station A: two communities, three properties; residents in every state the filters tell apart. Station B:
    a resident who would match every filter, were it in scope."""
    other_community = CommunityFactory(station=community_a.station, code="CA2", name="甲二社区")
    flat, court = PropertyFactory(community=community_a), PropertyFactory(community=community_a)
    far = PropertyFactory(community=other_community)
    people = {
        "overdue": ResidenceFactory(unit=UnitFactory(property=flat), start_date=days(-400),
                                    next_verification_due=days(-3)),
        "due": ResidenceFactory(unit=UnitFactory(property=flat), start_date=days(-30), next_verification_due=days(4)),
        "later": ResidenceFactory(unit=UnitFactory(property=court), start_date=days(-10),
                                  next_verification_due=days(60)),
        "unconfirmed": ResidenceFactory(unit=UnitFactory(property=far), start_date=days(-250), status="unconfirmed",
                                        next_verification_due=days(-40)),
        "gone": ResidenceFactory(unit=UnitFactory(property=court), start_date=days(-300)),
    }
    residence_end(residence=people["gone"], end_date=days(-5), end_reason="left_district")
    for key, number, expires in [("overdue", "JZ-VALID", 200), ("due", "JZ-SOON", 10), ("later", "JZ-OLD", -20)]:
        ResidencePermit.objects.create(person=people[key].person, station=community_a.station, number=number,
                                       issued_on=days(-300), expires_on=days(expires))
    elsewhere = ResidenceFactory(unit=UnitFactory(property__community=community_b), start_date=days(-400),
                                 next_verification_due=days(-3))
    ResidencePermit.objects.create(person=elsewhere.person, station=community_b.station, number="JZ-B",
                                   issued_on=days(-300), expires_on=days(200))
    return {"people": {key: r.person for key, r in people.items()}, "flat": flat, "court": court, "far": far,
            "other_community": other_community, "elsewhere": elsewhere.person}


def _cases(world, community_a):
    people = world["people"]
    p = {key: person.pk for key, person in people.items()}
    return [
        ({"community": community_a.pk}, {p["overdue"], p["due"], p["later"], p["gone"]}),
        ({"community": world["other_community"].pk}, {p["unconfirmed"]}),
        ({"property": world["flat"].pk}, {p["overdue"], p["due"]}),
        ({"property": world["court"].pk}, {p["later"], p["gone"]}),
        ({"residence_status": "active"}, {p["overdue"], p["due"], p["later"]}),
        ({"residence_status": "unconfirmed"}, {p["unconfirmed"]}),
        ({"residence_status": "ended"}, {p["gone"]}),
        ({"verification": "overdue"}, {p["overdue"], p["unconfirmed"]}),
        ({"verification": "due"}, {p["due"]}),
        ({"permit": "valid"}, {p["overdue"], p["due"]}),
        ({"permit": "expiring"}, {p["due"]}),
        ({"permit": "expired"}, {p["later"]}),
        ({"permit": "none"}, {p["unconfirmed"], p["gone"]}),
        # Six months at a current residence, no valid permit: not 'overdue' (a permit), nor 'later' (10 days).
        ({"permit": "eligible"}, {p["unconfirmed"]}),
        ({"arrived_from": days(-35).isoformat()}, {p["due"], p["later"]}),
        ({"arrived_from": days(-300).isoformat(), "arrived_until": days(-200).isoformat()},
         {p["unconfirmed"], p["gone"]}),
        # Several at once: one residence must match all of them.
        ({"property": world["court"].pk, "residence_status": "active"}, {p["later"]}),
        ({"community": community_a.pk, "verification": "overdue"}, {p["overdue"]}),
        ({"property": world["flat"].pk, "arrived_until": days(-100).isoformat()}, {p["overdue"]}),
    ]


def _page_ids(client, query) -> set[int]:
    response = client.get(LIST, {**query, "per_page": 100})
    assert response.status_code == 200
    assert not response.context["filterset"].form.errors, response.context["filterset"].form.errors
    return {person.pk for person in response.context["page_obj"].object_list}


def _api_ids(api, query) -> set[int]:
    response = api.get("/api/v1/persons/", {**query, "page_size": 100})
    assert response.status_code == 200, response.json()
    return {row["id"] for row in response.json()["results"]}


def test_each_filter_finds_the_same_persons_on_the_page_and_in_the_api(client, staff_a, world, community_a):
    client.force_login(staff_a)
    api = APIClient()
    api.force_authenticate(staff_a)
    for query, expected in _cases(world, community_a):
        assert _page_ids(client, query) == expected, query
        assert _api_ids(api, query) == expected, query


def test_another_stations_user_sees_nothing_through_the_filters(client, staff_b, world, community_a):
    client.force_login(staff_b)
    api = APIClient()
    api.force_authenticate(staff_b)
    mine = world["elsewhere"].pk
    for query in ({"residence_status": "active"}, {"verification": "overdue"}, {"permit": "valid"},
                  {"arrived_from": days(-500).isoformat()}):
        assert _page_ids(client, query) == {mine}, query
        assert _api_ids(api, query) == {mine}, query


def test_choices_outside_the_callers_scope_are_refused(client, staff_b, world, community_a):
    client.force_login(staff_b)
    api = APIClient()
    api.force_authenticate(staff_b)
    for query in ({"community": community_a.pk}, {"property": world["flat"].pk}):
        page = client.get(LIST, query)
        assert page.status_code == 200
        assert list(page.context["filterset"].form.errors) == list(query)
        # The page says what is wrong and lists the caller's own residents, unfiltered, as for any bad filter.
        assert {person.pk for person in page.context["page_obj"].object_list} == {world["elsewhere"].pk}
        answer = api.get("/api/v1/persons/", query)
        assert answer.status_code == 400 and list(answer.json()["fields"]) == list(query), answer.json()
    page = client.get(LIST).content.decode()
    assert community_a.name not in page and world["flat"].address not in page


def test_the_property_select_offers_the_chosen_communitys_properties(client, staff_a, world, community_a):
    client.force_login(staff_a)
    html = client.get(LIST, {"community": community_a.pk}).content.decode()
    select = html[html.index('id="person-property-filter"'):]
    select = select[:select.index("</select>")]
    assert world["flat"].address in select and world["court"].address in select
    assert world["far"].address not in select
    # With each page of results (htmx) the select follows the community chosen.
    rows = client.get(LIST, {"community": world["other_community"].pk}, HTTP_HX_REQUEST="true").content.decode()
    assert 'hx-swap-oob="true"' in rows and world["far"].address in rows and world["flat"].address not in rows


def test_filtered_list_query_count_does_not_grow_with_rows(client, staff_a, community_a):
    client.force_login(staff_a)
    prop = PropertyFactory(community=community_a)
    query = {"community": community_a.pk, "property": prop.pk, "residence_status": "active",
             "verification": "overdue", "permit": "none", "arrived_from": days(-100).isoformat(), "per_page": 50}

    def count() -> tuple[int, int]:
        with CaptureQueriesContext(connection) as page:
            response = client.get(LIST, query)
        return len(page.captured_queries), len(response.context["page_obj"].object_list)

    ResidenceFactory.create_batch(2, unit=UnitFactory(property=prop), start_date=days(-20),
                                  next_verification_due=days(-1))
    client.get(LIST)  # warm the session and permission caches
    small, shown = count()
    assert shown == 2
    for _ in range(20):
        ResidenceFactory(unit=UnitFactory(property=prop), start_date=days(-20), next_verification_due=days(-1))
    large, shown = count()
    assert shown == 22 and large == small
    api = APIClient()
    api.force_authenticate(staff_a)
    api_query = {key: value for key, value in query.items() if key != "per_page"} | {"page_size": 50}
    with CaptureQueriesContext(connection) as few:
        assert len(api.get("/api/v1/persons/", api_query).json()["results"]) == 22
    assert len(few.captured_queries) <= small
