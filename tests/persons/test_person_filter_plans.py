"""The persons API's filters for a station's staff read their page another way (``PersonFilterSet._station_plan``:
the station's persons walked in the page's order and probed, or a filter's matches read first as ids): for every
filter and order they answer exactly what the joins answer (the same persons, in the same order, page after page),
within the caller's scope only."""

import datetime

import pytest
from rest_framework.test import APIClient

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.services import residence_end
from patrol.models import ResidencePermit
from persons.factories import PersonFactory
from persons.filtersets import PersonFilterSet

TODAY = datetime.date.today()
ORDERINGS = [None, "name", "-name", "created", "-created"]


def days(n: int) -> datetime.date:
    return TODAY + datetime.timedelta(days=n)


@pytest.fixture
def station_world(community_a, community_b):
    """Station A: residents in every state the filters tell apart, two of them with one name (the name order's
    tie goes to the id), and two registered at station B who live or lived at A. Station B: residents who would
    match every filter, were they in scope."""
    here = [PropertyFactory(community=community_a) for _ in range(3)]
    there = PropertyFactory(community=community_b)
    station_b = community_b.station
    rows = []
    for n, (status, start, due) in enumerate([("active", -400, -3), ("active", -30, 4), ("active", -10, 60),
                                              ("unconfirmed", -250, -40), ("active", -300, -1),
                                              ("active", -200, 30), ("active", -29, -2), ("active", -700, -9)]):
        rows.append(ResidenceFactory(unit=UnitFactory(property=here[n % 3]), status=status, start_date=days(start),
                                     next_verification_due=days(due)))
    twins = [PersonFactory(name="王芳", registered_station=community_a.station) for _ in range(2)]
    rows += [ResidenceFactory(unit=UnitFactory(property=here[0]), person=twin, start_date=days(-300),
                              next_verification_due=days(-5)) for twin in twins]
    # Registered at B, living at A; and registered at B, moved out of A.
    for start in (-220, -500):
        rows.append(ResidenceFactory(unit=UnitFactory(property=here[1]),
                                     person=PersonFactory(registered_station=station_b),
                                     start_date=days(start), next_verification_due=days(-7)))
    for moved in (rows[4], rows[7], rows[8], rows[-1]):
        residence_end(residence=moved, end_date=days(-5), end_reason="left_district")
    # Moved within the station: an ended residence, and a current one (not "moved out").
    rows.append(ResidenceFactory(unit=UnitFactory(property=here[2]), person=rows[7].person, start_date=days(-4),
                                 next_verification_due=days(-1)))
    for residence, expires in zip(rows, [200, 10, -20, 20, 5, -250, 25, 15, 12, 300], strict=False):
        ResidencePermit.objects.create(person=residence.person, station=community_a.station,
                                       number=f"JZ-{residence.pk}", issued_on=days(-300), expires_on=days(expires))
    for status in ("active", "unconfirmed"):
        far = ResidenceFactory(unit=UnitFactory(property=there), status=status, start_date=days(-250),
                               next_verification_due=days(-3))
        ResidencePermit.objects.create(person=far.person, station=station_b, number=f"JZ-B-{far.pk}",
                                       issued_on=days(-300), expires_on=days(10))
    gone = ResidenceFactory(unit=UnitFactory(property=there), start_date=days(-300))
    residence_end(residence=gone, end_date=days(-5), end_reason="left_district")
    return {"here": here, "station_b_ids": {r.person_id for r in rows if r.person.registered_station == station_b}}


def _queries(community_a, world):
    return [
        {"community": community_a.pk}, {"property": world["here"][1].pk},
        {"residence_status": "active"}, {"residence_status": "unconfirmed"}, {"residence_status": "ended"},
        {"verification": "overdue"}, {"verification": "due"},
        {"permit": "valid"}, {"permit": "expiring"}, {"permit": "expired"}, {"permit": "none"},
        {"permit": "eligible"},
        {"arrived_from": days(-320).isoformat(), "arrived_until": days(-200).isoformat()},
        {"arrived_until": days(-250).isoformat()},
        {"community": community_a.pk, "residence_status": "ended"},
        {"verification": "overdue", "permit": "expiring"},
    ]


def _pages(api, query, ordering) -> list[int]:
    """Every id of the list, page after page (two to a page, so that the cursor's later pages are read too)."""
    params = {**query, "page_size": 2, **({"ordering": ordering} if ordering else {})}
    response = api.get("/api/v1/persons/", params)
    ids = []
    while True:
        assert response.status_code == 200, response.json()
        body = response.json()
        ids += [row["id"] for row in body["results"]]
        if not body["next"]:
            return ids
        response = api.get(body["next"])


class _Plans(list):
    """The plans the requests' filters were read with; ``joins()`` forces the joins from then on."""

    joins = None


@pytest.fixture
def plans(monkeypatch):
    seen = _Plans()
    station_plan = PersonFilterSet._station_plan

    def recording(self, queryset):
        queryset, plan = station_plan(self, queryset)
        seen.append(plan)
        return queryset, plan

    monkeypatch.setattr(PersonFilterSet, "_station_plan", recording)
    seen.joins = lambda: monkeypatch.setattr(PersonFilterSet, "_station_plan", lambda self, qs: (qs, ""))
    return seen


def test_the_station_plans_answer_what_the_joins_answer(staff_a, station_world, community_a, plans):
    api = APIClient()
    api.force_authenticate(staff_a)
    cases = [(query, ordering) for query in _queries(community_a, station_world) for ordering in ORDERINGS]
    read = {}
    for query, ordering in cases:
        plans.clear()
        read[str(query), ordering] = (_pages(api, query, ordering), set(plans))
    plans.joins()
    for query, ordering in cases:
        expected = _pages(api, query, ordering)
        found, used = read[str(query), ordering]
        assert found == expected, (query, ordering, used)
        assert len(set(found)) == len(found), (query, ordering)
    # The other plans were taken (else this would compare the joins with themselves), and found someone.
    used = {plan for _ids, plans_used in read.values() for plan in plans_used}
    assert {"probe", "first", ""} <= used
    assert read[str({"residence_status": "ended"}), "name"][0]
    assert read[str({"verification": "overdue"}), "-created"][0]
    assert "probe" in read[str({"community": community_a.pk}), None][1]
    assert "first" in read[str({"residence_status": "ended"}), "-created"][1]
    # Those registered at B who live or lived at A are found at A.
    assert station_world["station_b_ids"] <= set(read[str({"community": community_a.pk}), "name"][0])
    assert station_world["station_b_ids"] & set(read[str({"residence_status": "ended"}), "-created"][0])


def test_another_stations_persons_never_appear_through_the_station_plans(staff_a, station_world, community_a,
                                                                         community_b):
    api = APIClient()
    api.force_authenticate(staff_a)
    from persons.models import Person

    mine = set(Person.objects.visible_to(staff_a).values_list("pk", flat=True))
    others = set(Person.objects.filter(registered_station=community_b.station).values_list("pk", flat=True)) - mine
    assert others
    for query in _queries(community_a, station_world):
        for ordering in ORDERINGS:
            found = set(_pages(api, query, ordering))
            assert found <= mine, (query, ordering)
            assert not found & others, (query, ordering)


def test_a_community_of_another_station_is_refused_not_walked(staff_a, station_world, community_b):
    api = APIClient()
    api.force_authenticate(staff_a)
    response = api.get("/api/v1/persons/", {"community": community_b.pk, "ordering": "name"})
    assert response.status_code == 400
    assert "community" in response.json()["fields"]


def test_namesakes_are_listed_by_id_in_the_direction_of_the_name_order(staff_a, station_world, community_a):
    """A tie goes the way of the order asked (the index of a station's names holds it forwards and backwards)."""
    from persons.models import Person

    api = APIClient()
    api.force_authenticate(staff_a)
    twins = sorted(Person.objects.filter(name="王芳").values_list("pk", flat=True))
    assert len(twins) == 2
    for ordering, expected in (("name", twins), ("-name", twins[::-1])):
        found = [pk for pk in _pages(api, {"community": community_a.pk}, ordering) if pk in twins]
        assert found == expected, ordering
