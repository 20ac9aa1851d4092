"""The day's visits by property (issue 17, point 6): the home page and the printable route list group the checks
due by community and property, ordered by address, with the count at each and one link to record the visit."""

import datetime

from django.urls import reverse
from django.utils import timezone

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from registry.factories import CommunityFactory

TODAY = timezone.localdate()


def due_at(prop, days, n=1, status="active"):
    unit = UnitFactory(property=prop, capacity=9)
    return [ResidenceFactory(unit=unit, status=status, next_verification_due=TODAY + datetime.timedelta(days=days))
            for _ in range(n)]


def test_the_route_groups_the_checks_due_by_community_and_property_in_address_order(client, officer_a, station_a,
                                                                                   community_a, community_b):
    north = CommunityFactory(station=station_a, name="北社区")
    south = CommunityFactory(station=station_a, name="南社区")
    b_road = PropertyFactory(community=north, address="B路2号")
    a_road = PropertyFactory(community=north, address="A路1号")
    c_road = PropertyFactory(community=south, address="C路3号")
    due_at(b_road, -3, 2)  # two overdue
    due_at(b_road, 2)
    due_at(a_road, 0)
    due_at(c_road, 6, status="unconfirmed")
    due_at(c_road, 30)  # not due this week
    due_at(PropertyFactory(community=community_b), 0)  # another station's
    client.force_login(officer_a)
    page = client.get(reverse("route"))
    assert page.status_code == 200
    route = [(c.name, [(s.address, s.due, s.overdue) for s in c.stops]) for c in page.context["communities"]]
    assert route == [("北社区", [("A路1号", 1, 0), ("B路2号", 3, 2)]), ("南社区", [("C路3号", 1, 0)])]
    assert page.context["total"] == 3 and page.context["residents"] == 5
    text = page.content.decode()
    assert reverse("patrol:visit_create", args=[b_road.pk]) in text  # one tap per property
    # Due today only: the overdue and today's.
    today = client.get(reverse("route"), {"until": TODAY.isoformat()})
    assert [(s.address, s.due) for c in today.context["communities"] for s in c.stops] == [("A路1号", 1),
                                                                                           ("B路2号", 2)]
    home = client.get(reverse("home"))
    assert [s.address for c in home.context["route"] for s in c.stops] == ["A路1号", "B路2号", "C路3号"]


def test_the_route_costs_the_same_queries_whatever_the_number_of_properties(client, staff_a, community_a,
                                                                           django_assert_max_num_queries):
    for n in range(3):
        due_at(PropertyFactory(community=community_a, address=f"路{n}号"), 0)
    client.force_login(staff_a)
    client.get(reverse("route"))
    with django_assert_max_num_queries(12) as few:
        client.get(reverse("route"))
    for n in range(3, 30):
        due_at(PropertyFactory(community=community_a, address=f"路{n}号"), 0)
    with django_assert_max_num_queries(len(few.captured_queries)):
        page = client.get(reverse("route"))
    assert page.context["total"] == 30


def test_landlords_cannot_open_the_route(client, landlord_a):
    client.force_login(landlord_a.user)
    assert client.get(reverse("route")).status_code == 403
