"""Departures by reason (issue 17, point 4): the district's and a station's dashboards count the registrations
ended in the period by the reason asked at the end, and each count links to the residences page with the same
filter, which counts exactly that (as tests/workspace/test_dashboard_links.py does for every other figure)."""

import datetime

import pytest
from django.utils import timezone

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.services import residence_end, residence_move

REASONS = ["moved_within", "left_district", "deceased", "other", "none"]


@pytest.fixture
def departures(community_a, community_b):
    today = timezone.localdate()
    for community, reasons in ((community_a, ["moved_within", "deceased", "other", "other", ""]),
                               (community_b, ["left_district", "other", ""])):
        unit = UnitFactory(property=PropertyFactory(community=community))
        for reason in reasons:
            residence = ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=200))
            residence_end(residence=residence, end_date=today - datetime.timedelta(days=3), end_reason=reason)
        # Outside the period (the last 12 months): not counted.
        old = ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=900))
        residence_end(residence=old, end_date=today - datetime.timedelta(days=800), end_reason="deceased")
        # Still living there: not a departure.
        ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=100))
    # A move from station A to station B, within the district: its reason is set by the move.
    mover = ResidenceFactory(unit=UnitFactory(property__community=community_a),
                             start_date=today - datetime.timedelta(days=50))
    residence_move(person=mover.person, unit=UnitFactory(property__community=community_b),
                   start_date=today - datetime.timedelta(days=1), reason="work")


def _linked_count(client, url: str) -> int:
    page = client.get(url.replace("&amp;", "&"))
    assert page.status_code == 200, url
    return page.context["paginator"].count


def _figures(page) -> dict:
    return {row["reason"]: row for row in page.context["departures"]}


def test_the_districts_departures_by_reason_each_link_to_the_residences_they_count(client, supervisor, departures):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    rows = _figures(page)
    assert list(rows) == REASONS
    assert {reason: row["count"] for reason, row in rows.items()} == {
        "moved_within": 2, "left_district": 1, "deceased": 1, "other": 3, "none": 2}
    html = page.content.decode()
    for row in rows.values():
        assert "moved_out_from=" in row["url"] and f"end_reason={row['reason']}" in row["url"]
        assert _linked_count(client, row["url"]) == row["count"], row
        assert f'href="{row["url"].replace("&", "&amp;")}"' in html


def test_a_stations_dashboard_counts_its_own_departures_and_links_with_its_station(client, staff_a, supervisor,
                                                                                   station_b, departures):
    client.force_login(staff_a)
    rows = _figures(client.get("/dashboard/"))
    assert {reason: row["count"] for reason, row in rows.items()} == {
        "moved_within": 2, "left_district": 0, "deceased": 1, "other": 2, "none": 1}
    for row in rows.values():
        assert _linked_count(client, row["url"]) == row["count"], row
    client.force_login(supervisor)
    rows = _figures(client.get("/dashboard/", {"station": station_b.pk}))
    assert {reason: row["count"] for reason, row in rows.items()} == {
        "moved_within": 0, "left_district": 1, "deceased": 0, "other": 1, "none": 1}
    for row in rows.values():
        assert f"station={station_b.pk}" in row["url"]
        assert _linked_count(client, row["url"]) == row["count"], row


def test_a_shorter_period_counts_fewer_departures_and_its_links_say_so(client, supervisor, departures):
    client.force_login(supervisor)
    today = timezone.localdate()
    page = client.get("/dashboard/", {"since": (today - datetime.timedelta(days=2)).isoformat()})
    rows = _figures(page)
    assert sum(row["count"] for row in rows.values()) == 1  # the move, yesterday
    assert rows["moved_within"]["count"] == 1
    for row in rows.values():
        assert _linked_count(client, row["url"]) == row["count"]
