"""Dashboards that click through (issue 16, point 4): every figure links to the list it counts with its own
filter, and the list counts exactly what the figure says, figure by figure, for the district, for each
station's row, and on a station user's own dashboard; the period chosen travels with the links."""

import datetime
import re

import pytest
import time_machine
from django.utils import timezone

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.services import residence_end
from patrol.models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, Visit
from portal.models import Submission
from registry.audit import audit_context
from workspace.dashboards import Period, overdue_by_month

STARS = [f"stars_{n}" for n in range(6)]
FIGURES = ["residents", "unconfirmed", "overdue", "due_soon", "permits_expiring", "properties", "waiting",
           "waiting_old", "reports", "late", "escalated", *STARS]
# In the stations table, shown beside another figure only when there are any.
BADGES = {"unconfirmed", "waiting_old"}
# Figures the data below makes non-zero for the district, so that "the list counts the figure" is not 0 == 0.
EXERCISED = {*FIGURES} - {"stars_5", "stars_2", "stars_1"}


def _report(residence, *, reported_days_ago: int, status: str = "waiting", late: bool = False,
            submitted_days_ago: int = 0):
    prop = residence.unit.property
    submission = Submission.objects.create(
        kind="departure", property=prop, unit=residence.unit, residence=residence,
        date=timezone.localdate() - datetime.timedelta(days=reported_days_ago + 1),
        reported_on=timezone.localdate() - datetime.timedelta(days=reported_days_ago), is_late=late, status=status,
        rejection_reason="not the tenant" if status == "rejected" else "", submitted_by=None)
    if submitted_days_ago:
        Submission.objects.filter(pk=submission.pk).update(
            created_at=timezone.now() - datetime.timedelta(days=submitted_days_ago))
    return submission


@pytest.fixture
def residences(community_a, community_b):
    today = timezone.localdate()
    made = []
    for index, community in enumerate((community_a, community_b)):
        prop = PropertyFactory(community=community)
        rated, unrated = PropertyFactory(community=community), PropertyFactory(community=community)
        unit = UnitFactory(property=prop)
        for days, status in [(-3, "active"), (0, "active"), (5, "active"), (40, "active"), (-1, "unconfirmed"),
                             (10, "unconfirmed"), (-20, "ended"), (3, "ended")]:
            made.append(ResidenceFactory(unit=unit, status=status,
                                         next_verification_due=today + datetime.timedelta(days=days),
                                         **({"end_date": today - datetime.timedelta(days=1)}
                                            if status == "ended" else {})))
        current = made[-8:]
        # Owners' reports: waiting (one for days), decided in the period (one late), and one long before it.
        _report(current[0], reported_days_ago=0)
        _report(current[1], reported_days_ago=4, submitted_days_ago=4, late=True)
        _report(current[2], reported_days_ago=30, status="approved", late=True)
        _report(current[3], reported_days_ago=60, status="rejected")
        _report(current[4], reported_days_ago=500, status="approved", late=True)
        # Verification: an open escalated request, an open one not escalated, a closed escalated one.
        VerificationRequest.objects.create(property=prop, kind="visit", opened_on=today - datetime.timedelta(days=20),
                                           due_since=today - datetime.timedelta(days=20),
                                           escalated_on=today - datetime.timedelta(days=5))
        VerificationRequest.objects.create(property=rated, kind="visit", opened_on=today, due_since=today)
        VerificationRequest.objects.create(property=unrated, kind="visit",
                                           opened_on=today - datetime.timedelta(days=90),
                                           due_since=today - datetime.timedelta(days=90),
                                           escalated_on=today - datetime.timedelta(days=70),
                                           closed_on=today - datetime.timedelta(days=60))
        # Ratings: 4 stars now (3 before), 3 stars now, 0 stars now; the third property has none yet.
        PropertyRating.objects.create(property=prop, computed_at=timezone.now(), run="old", stars=3, total=60,
                                      is_current=False)
        PropertyRating.objects.create(property=prop, computed_at=timezone.now(), run="t", stars=4, total=80)
        PropertyRating.objects.create(property=rated, computed_at=timezone.now(), run="t", stars=3 + index, total=60)
        PropertyRating.objects.create(property=unrated, computed_at=timezone.now(), run="t", stars=0, total=0)
        PropertyFactory(community=community)  # never rated
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
    assert page.status_code == 200, url
    return page.context["paginator"].count


@pytest.mark.parametrize("figure", FIGURES)
def test_each_figure_of_the_district_counts_what_its_list_shows(client, supervisor, residences, figure):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    total = page.context["total"].figure(figure)
    if figure in EXERCISED:
        assert total > 0  # the data exercises the figure
    assert linked_count(client, page.context["links"][figure]) == total
    html = page.content.decode().replace("&amp;", "&")
    assert page.context["links"][figure] in html
    for station, stats in page.context["rows"]:
        url = page.context["station_links"][station.pk][figure]
        assert f"station={station.pk}" in url
        assert linked_count(client, url) == stats.figure(figure)
        if not figure.startswith("stars_"):  # the stations table shows the counts, the ratings are the district's
            assert f'href="{url}"' in html


def test_the_stations_table_links_each_row_to_its_own_station(client, supervisor, residences, station_a, station_b):
    client.force_login(supervisor)
    html = client.get("/dashboard/").content.decode()
    table = html[html.index('id="stations-heading"'):html.index('id="workload-heading"')]
    for row in re.findall(r"<tr>\s*<th scope=\"row\">(.*?)</tr>", table, re.S):
        station = re.search(r"\?station=(\d+)", row).group(1)
        links = re.findall(r'href="([^"]+)"', row)[1:]
        assert len(links) >= 9
        assert all(f"station={station}&" in link or link.endswith(f"station={station}") for link in links), row


def test_a_stations_own_dashboard_links_with_its_station(client, staff_a, residences, station_a):
    client.force_login(staff_a)
    page = client.get("/dashboard/")
    assert page.context["single"]
    for figure in FIGURES:
        url = page.context["links"][figure]
        assert linked_count(client, url) == page.context["total"].figure(figure), figure
    assert re.search(r"/residences/\?current=true", page.context["links"]["residents"])


def test_a_supervisor_reads_the_review_queue_without_deciding(client, supervisor, staff_a, residences):
    client.force_login(supervisor)
    page = client.get("/review/", {"status": "waiting"})
    assert page.status_code == 200 and page.context["paginator"].count == 4
    assert not page.context["can_decide"] and "bulk-form" not in page.content.decode()
    submission = Submission.objects.filter(status="waiting").first()
    assert client.post(f"/review/{submission.pk}/approve/").status_code == 403
    client.force_login(staff_a)
    assert "bulk-form" in client.get("/review/").content.decode()


def test_the_period_chosen_counts_the_reports_and_travels_with_their_links(client, supervisor, residences):
    client.force_login(supervisor)
    today = timezone.localdate()
    default = client.get("/dashboard/").context
    assert (default["total"].reports, default["total"].late) == (8, 4)  # the 500-day-old reports are outside
    since = today - datetime.timedelta(days=600)
    page = client.get("/dashboard/", {"since": since.isoformat(), "until": today.isoformat()})
    total = page.context["total"]
    assert (total.reports, total.late) == (10, 6)
    for figure in ("reports", "late"):
        url = page.context["links"][figure]
        assert f"reported_from={since.isoformat()}" in url
        assert linked_count(client, url) == total.figure(figure)
    short = client.get("/dashboard/", {"since": (today - datetime.timedelta(days=10)).isoformat()}).context
    assert (short["total"].reports, short["total"].late) == (4, 2)
    assert len(short["moves_chart"]["rows"]) in (1, 2)
    label, href, current = short["quick_periods"][0]  # "Last 30 days"
    assert f"since={today - datetime.timedelta(days=29)}&until={today}" in href and not current


def test_a_period_in_the_future_or_too_long_is_refused_and_the_last_12_months_shown(client, supervisor, residences):
    client.force_login(supervisor)
    today = timezone.localdate()
    for query in ({"until": (today + datetime.timedelta(days=3)).isoformat()},
                  {"since": (today - datetime.timedelta(days=4 * 365)).isoformat()}):
        page = client.get("/dashboard/", query)
        assert page.status_code == 200 and page.context["period_form"].errors
        assert page.context["period"] == Period.default(today)


def test_each_months_arrivals_and_departures_link_to_the_residences_that_moved(client, supervisor, residences):
    client.force_login(supervisor)
    rows = client.get("/dashboard/").context["moves_chart"]["rows"]
    assert sum(row["arrivals"] for row in rows) > 0 and sum(row["departures"] for row in rows) > 0
    for row in rows:
        assert linked_count(client, row["arrivals_url"]) == row["arrivals"]
        assert linked_count(client, row["departures_url"]) == row["departures"]


def test_work_by_staff_counts_each_users_registrations_moves_visits_reviews_and_inspections_in_the_period(
        client, supervisor, staff_a, officer_a, community_a):
    today = timezone.localdate()
    prop = PropertyFactory(community=community_a)
    unit = UnitFactory(property=prop)
    for _ in range(3):
        ResidenceFactory(unit=unit, created_by=staff_a)
    earlier = ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=200))
    with time_machine.travel(timezone.now() - datetime.timedelta(days=40)), audit_context(user=staff_a):
        residence_end(residence=earlier, end_date=today - datetime.timedelta(days=41))
    for _ in range(2):
        moved = ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=100))
        with audit_context(user=staff_a):
            residence_end(residence=moved, end_date=today)
    with audit_context(user=officer_a):  # a change that does not end the registration is no move
        corrected = ResidenceFactory(unit=unit, start_date=today - datetime.timedelta(days=100))
        corrected.note = "checked"
        corrected.save()
    Visit.objects.create(property=prop, visited_on=today, visited_by=officer_a)
    Visit.objects.create(property=prop, visited_on=today - datetime.timedelta(days=40), visited_by=officer_a)
    Inspection.objects.create(property=prop, inspected_on=today, inspector=officer_a, fire_extinguishers=True,
                              escape_routes=True, wiring=True, partitions=True, gas=True)
    client.force_login(supervisor)
    last_30 = {"since": (today - datetime.timedelta(days=29)).isoformat(), "until": today.isoformat()}
    rows = {row["username"]: row for row in client.get("/dashboard/", last_30).context["workload"]}
    assert (rows["staff_a"]["registrations"], rows["staff_a"]["moves"], rows["staff_a"]["visits"]) == (3, 2, 0)
    assert (rows["officer_a"]["visits"], rows["officer_a"]["inspections"], rows["officer_a"]["moves"]) == (1, 1, 0)
    longer = {row["username"]: row for row in client.get(
        "/dashboard/", {"since": (today - datetime.timedelta(days=60)).isoformat()}).context["workload"]}
    assert longer["officer_a"]["visits"] == 2
    assert longer["staff_a"]["moves"] == 3


def test_overdue_verifications_by_month_are_the_requests_due_and_still_open_at_each_months_end(
        community_a, community_b, station_a, station_b):
    today = timezone.localdate()
    period = Period.default(today)
    months = period.months()
    prop_a, prop_b = PropertyFactory(community=community_a), PropertyFactory(community=community_b)
    other_a = PropertyFactory(community=community_a)
    # Due in month -3, closed on the 5th of month -1: overdue at the end of months -3 and -2.
    VerificationRequest.objects.create(property=prop_a, kind="visit", opened_on=months[-4].replace(day=10),
                                       due_since=months[-4].replace(day=10), closed_on=months[-2].replace(day=5))
    # Due on the 1st of the month before last, still open: overdue at the end of it and now.
    VerificationRequest.objects.create(property=other_a, kind="visit", opened_on=months[-2], due_since=months[-2])
    # Another station's.
    VerificationRequest.objects.create(property=prop_b, kind="visit", opened_on=months[-2], due_since=months[-2])
    rows = overdue_by_month([station_a.pk], period=period, today=today)
    assert [row["month"] for row in rows] == months
    assert rows[-1]["on"] == today and rows[-2]["on"] == months[-1]
    assert [row["overdue"] for row in rows][-5:] == [0, 1, 1, 1, 1]
    assert sum(row["overdue"] for row in overdue_by_month([station_a.pk, station_b.pk], period=period,
                                                          today=today)) == 6


def test_the_monthly_charts_have_values_on_their_axis_and_their_figures_as_a_table(client, supervisor, residences):
    client.force_login(supervisor)
    page = client.get("/dashboard/")
    html = page.content.decode()
    for chart in (page.context["moves_chart"], page.context["overdue_chart"]):
        top = chart["top"]
        assert [tick["value"] for tick in chart["ticks"]] == sorted({0, top // 2, top})
        assert f'dominant-baseline="middle">{top}</text>' in html
    for month in page.context["moves_chart"]["rows"]:
        assert (f'<th scope="row">{month["month"]:%Y-%m}</th><td class="text-end"><a href="'
                f'{month["arrivals_url"].replace("&", "&amp;")}">{month["arrivals"]}</a></td>') in html
    for month in page.context["overdue_chart"]["rows"]:
        assert (f'<th scope="row">{month["month"]:%Y-%m}</th><td>{month["on"]:%Y-%m-%d}</td>'
                f'<td class="text-end">{month["overdue"]}</td>') in html
    assert "style=" not in html[html.index('id="moves-heading"'):html.index('id="workload-heading"')]
