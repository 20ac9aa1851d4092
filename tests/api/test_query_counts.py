"""Query counts of the list endpoints: the same for 3 rows as for 25, and pinned under a ceiling.

The user's caches (permissions, scope) are warmed by one request first, so the counts measure the
endpoint itself; each measured request is a new request object for the same user. A count that grows
with the rows is an N+1 (a serializer field reaching through a relation that the queryset did not
select); a count above the ceiling is a new query on every page: find it, or raise the ceiling on purpose.
"""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from persons.factories import EmployerFactory, EmploymentFactory, PersonFactory

SMALL, LARGE = 3, 25

# Ceilings as measured: a cursor page is one query (no COUNT), relations come with select_related and
# the units' occupants with an annotation. The feed first numbers new changes (a savepoint, the UPDATE,
# its release; on PostgreSQL also the advisory lock), then reads one page.
_FEED = 4 + (connection.vendor == "postgresql")
CEILINGS = {
    "persons": 1,
    "landlords": 1,
    "properties": 1,
    "units": 1,
    "residences": 1,
    "employers": 1,
    "employments": 1,
    "changes": _FEED,
}


def _make(resource, world, n):
    station, community = world.station_a, world.community_a
    for _ in range(n):
        if resource == "persons":
            PersonFactory(registered_station=station)
        elif resource == "landlords":
            LandlordFactory(station=station)
        elif resource == "properties":
            PropertyFactory(community=community)
        elif resource == "units":
            UnitFactory(property__community=community)
        elif resource == "residences":
            ResidenceFactory(unit__property__community=community)
        elif resource == "employers":
            EmployerFactory(station=station)
        elif resource == "employments":
            EmploymentFactory(employer__station=station, person__registered_station=station)
        elif resource == "changes":
            PersonFactory(registered_station=station)  # one feed entry each
        else:
            raise AssertionError(resource)


def _count(client, resource):
    params = {"limit": 1000} if resource == "changes" else {"page_size": 200}
    with CaptureQueriesContext(connection) as queries:
        response = client.get(f"/api/v1/{resource}/", params)
    assert response.status_code == 200, response.content[:300]
    return len(queries), len(response.json()["results"]), [q["sql"] for q in queries.captured_queries]


@pytest.mark.parametrize("resource", list(CEILINGS))
def test_list_queries_do_not_grow_with_rows(world, resource):
    user = world.users["staff_a"]
    client = APIClient()
    client.force_authenticate(user)
    client.get(f"/api/v1/{resource}/")  # warm the user's permission and scope caches
    baseline_rows = _count(client, resource)[1]
    _make(resource, world, SMALL)
    small, rows_small, sql_small = _count(client, resource)
    _make(resource, world, LARGE - SMALL)
    large, rows_large, sql_large = _count(client, resource)
    assert rows_small == baseline_rows + SMALL and rows_large == baseline_rows + LARGE
    assert small == large, f"{resource}: {small} queries for {rows_small} rows, {large} for {rows_large}:\n" + (
        "\n".join(sql_large))
    assert large <= CEILINGS[resource], f"{resource}: {large} queries:\n" + "\n".join(sql_large)
