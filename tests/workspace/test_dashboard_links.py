"""Dashboards that click through (issue 16, point 4): each residents figure links to the residences page with
its own filter, and the page counts exactly what the figure says, figure by figure, for the district and for
each station."""

import datetime
import re

import pytest
from django.utils import timezone

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from patrol.models import Inspection, ResidencePermit, Visit

FIGURES = ["residents", "unconfirmed", "overdue", "due_soon", "permits_expiring"]


@pytest.fixture
def residences(community_a, community_b):
    today = timezone.localdate()
    made = []
    for community in (community_a, community_b):
        unit = UnitFactory(property=PropertyFactory(community=community))
        for days, status in [(-3, "active"), (0, "active"), (5, "active"), (40, "active"), (-1, "unconfirmed"),
                             (10, "unconfirmed"), (-20, "ended"), (3, "ended")]:
            made.append(ResidenceFactory(unit=unit, status=status,
                                         next_verification_due=today + datetime.timedelta(days=days),
                                         **({"end_date": today - datetime.timedelta(days=1)}
                                            if status == "ended" else {})))
    for person, station, number, expires in [(made[0].person, community_a.station, "JZ-1", 5),
                                              (made[1].person, community_a.station, "JZ-2", 60),
                                              (made[8].person, community_b.station, "JZ-3", 10),
                                              (made[9].person, community_b.station, "JZ-4", -2)]:
        ResidencePermit.objects.create(person=person, station=station, number=number,
                                       issued_on=today - datetime.timedelta(days=300),
                                       expires_on=today + datetime.timedelta(days=expires))
    return made


def linked_count(client, url: str) -> int:
    page = client.get(url.replace("&amp;", "&"))
    assert page.status_code == 200
    return page.context["paginator"].count


@pytest.mark.parametrize("figure", FIGURES)
def test_each_figure_of_the_district_counts_what_its_list_shows(client, supervisor, residences, figure):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    total = getattr(page.context["total"], figure)
    assert total > 0  # the data exercises the figure
    assert linked_count(client, page.context["links"][figure]) == total
    assert page.context["links"][figure] in page.content.decode().replace("&amp;", "&")
    for station, stats in page.context["rows"]:
        assert linked_count(client, page.context["station_links"][station.pk][figure]) == getattr(stats, figure)


def test_a_stations_own_dashboard_links_with_its_station(client, staff_a, residences, station_a):
    client.force_login(staff_a)
    page = client.get("/dashboard/")
    for figure in FIGURES:
        url = page.context["links"][figure]
        assert linked_count(client, url) == getattr(page.context["total"], figure)
    assert re.search(r"/residences/\?current=true", page.context["links"]["residents"])


def test_work_by_staff_counts_each_users_registrations_visits_reviews_and_inspections_in_the_period(
        client, supervisor, staff_a, officer_a, community_a):
    today = timezone.localdate()
    prop = PropertyFactory(community=community_a)
    unit = UnitFactory(property=prop)
    for _ in range(3):
        ResidenceFactory(unit=unit, created_by=staff_a)
    Visit.objects.create(property=prop, visited_on=today, visited_by=officer_a)
    Visit.objects.create(property=prop, visited_on=today - datetime.timedelta(days=40), visited_by=officer_a)
    Inspection.objects.create(property=prop, inspected_on=today, inspector=officer_a, fire_extinguishers=True,
                              escape_routes=True, wiring=True, partitions=True, gas=True)
    client.force_login(supervisor)
    rows = {row["username"]: row for row in client.get("/dashboard/").context["workload"]}
    assert (rows["staff_a"]["registrations"], rows["staff_a"]["visits"]) == (3, 0)
    assert (rows["officer_a"]["visits"], rows["officer_a"]["inspections"]) == (1, 1)  # the older visit is outside
    longer = {row["username"]: row for row in client.get(
        "/dashboard/", {"since": (today - datetime.timedelta(days=60)).isoformat()}).context["workload"]}
    assert longer["officer_a"]["visits"] == 2


def test_the_monthly_chart_has_values_on_its_axis_and_its_figures_as_a_table(client, supervisor, residences):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    html = page.content.decode()
    top = page.context["chart_top"]
    assert [tick["value"] for tick in page.context["chart_ticks"]] == sorted({0, top // 2, top})
    assert f'dominant-baseline="middle">{top}</text>' in html
    for month in page.context["months"]:
        assert f'<th scope="row">{month["month"]:%Y-%m}</th><td class="text-end">{month["arrivals"]}</td>' in html
