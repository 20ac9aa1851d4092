"""Dashboards: the right figures, each station's own, a fixed number of queries, and no one outside scope."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from housing.factories import ResidenceFactory
from patrol.models import PropertyRating
from portal.models import Submission
from workspace.dashboards import Period, moves_by_month, station_figures

TODAY = timezone.localdate()


@pytest.fixture
def world(rental_a, rental_b, landlord_a):
    unit_a, unit_b = rental_a.units.first(), rental_b.units.first()
    overdue = ResidenceFactory(unit=unit_a, next_verification_due=TODAY - datetime.timedelta(days=3),
                               start_date=TODAY - datetime.timedelta(days=40))
    ResidenceFactory(unit=unit_a, status="unconfirmed", next_verification_due=TODAY + datetime.timedelta(days=3),
                     start_date=TODAY - datetime.timedelta(days=400))
    ResidenceFactory(unit=unit_a, status="ended", start_date=TODAY - datetime.timedelta(days=300),
                     end_date=TODAY - datetime.timedelta(days=10), next_verification_due=None)
    ResidenceFactory(unit=unit_b, next_verification_due=TODAY + datetime.timedelta(days=90),
                     start_date=TODAY - datetime.timedelta(days=5))
    Submission.objects.create(kind="departure", property=rental_a, unit=unit_a, residence=overdue, date=TODAY,
                              reported_on=TODAY, is_late=True, submitted_by=landlord_a.user)
    PropertyRating.objects.create(property=rental_a, computed_at=timezone.now(), run="t", stars=4, total=80)
    return rental_a, rental_b


def test_station_figures_count_each_stations_own_records(world, station_a, station_b):
    figures = station_figures([station_a.pk, station_b.pk], today=TODAY)
    a, b = figures[station_a.pk], figures[station_b.pk]
    assert (a.residents, a.unconfirmed, a.overdue, a.due_soon) == (2, 1, 1, 1)
    assert (b.residents, b.unconfirmed, b.overdue, b.due_soon) == (1, 0, 0, 0)
    assert (a.waiting, a.reports, a.late, a.late_share) == (1, 1, 1, 100)
    assert (b.waiting, b.late_share) == (0, None)
    assert a.stars == {5: 0, 4: 1, 3: 0, 2: 0, 1: 0, 0: 0} and b.stars[0] == 1


def test_moves_by_month_counts_arrivals_and_departures_in_their_month(world, station_a):
    months = moves_by_month([station_a.pk], period=Period.default(TODAY))
    assert len(months) == 12 and months[-1]["month"] == TODAY.replace(day=1)
    assert sum(m["arrivals"] for m in months) == 2  # 40 and 300 days ago; the 400-day one is older
    assert sum(m["departures"] for m in months) == 1


def test_staff_sees_their_station_and_no_other(client, world, staff_a, station_b):
    client.force_login(staff_a)
    response = client.get(reverse("dashboard"))
    assert response.status_code == 200 and response.context["single"]
    assert response.context["total"].residents == 2
    assert client.get(reverse("dashboard"), {"station": station_b.pk}).status_code == 404


def test_supervisor_sees_every_station_of_the_district_and_can_open_one(client, world, supervisor, station_a):
    client.force_login(supervisor)
    response = client.get(reverse("dashboard"))
    assert [station.pk for station, _stats in response.context["rows"]] != []
    assert response.context["total"].residents == 3
    one = client.get(reverse("dashboard"), {"station": station_a.pk})
    assert one.context["single"] and one.context["total"].residents == 2
    assert "<svg" in one.content.decode()


@pytest.mark.parametrize("who", ["anonymous", "landlord"])
def test_dashboard_is_not_for_anonymous_users_or_owners(client, world, landlord_a, who):
    if who == "landlord":
        client.force_login(landlord_a.user)
        assert client.get(reverse("dashboard")).status_code == 403
    else:
        assert client.get(reverse("dashboard")).status_code == 302


def test_district_dashboard_queries_do_not_grow_with_stations(client, world, supervisor, district, staff_a,
                                                              django_assert_max_num_queries):
    """Every figure, chart and the work by staff are grouped queries: three more stations, each with its staff,
    properties, registrations, reports and requests, and a period of 36 months cost no query more."""
    from housing.factories import PropertyFactory, UnitFactory
    from patrol.models import VerificationRequest
    from registry.factories import CommunityFactory, StationFactory, make_user
    from registry.roles import RoleChoices

    period = {"since": (TODAY - datetime.timedelta(days=1000)).isoformat(), "until": TODAY.isoformat()}
    client.force_login(supervisor)
    client.get(reverse("dashboard"), period)
    with django_assert_max_num_queries(25) as two:
        client.get(reverse("dashboard"), period)
    two_stations = len(two.captured_queries)
    for code in ("SC", "SD", "SE"):
        station = StationFactory(district=district, code=code)
        prop = PropertyFactory(community=CommunityFactory(station=station, code=f"C-{code}"))
        residence = ResidenceFactory(unit=UnitFactory(property=prop), start_date=TODAY - datetime.timedelta(days=50))
        Submission.objects.create(kind="departure", property=prop, unit=residence.unit, residence=residence,
                                  date=TODAY, reported_on=TODAY)
        VerificationRequest.objects.create(property=prop, kind="visit", opened_on=TODAY - datetime.timedelta(days=60),
                                           due_since=TODAY - datetime.timedelta(days=60))
        for role in (RoleChoices.STAFF, RoleChoices.OFFICER):
            make_user(role, username=f"{role}-{code}", station=station)
    supervisor._registry_scope = None
    client.get(reverse("dashboard"), period)  # new users in groups: the permission cache is read afresh once
    with django_assert_max_num_queries(two_stations):
        page = client.get(reverse("dashboard"), period)
    assert len(page.context["rows"]) == 5 and len(page.context["workload"]) >= 6
    assert len(page.context["moves_chart"]["rows"]) == len(page.context["overdue_chart"]["rows"]) >= 33


@pytest.fixture
def dashboard_cache(settings):
    settings.REGISTRY = {**settings.REGISTRY, "DASHBOARD_CACHE_SECONDS": 60}
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "dashboard-tests"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def test_dashboard_figures_are_kept_for_a_minute_and_counted_again_on_request(
        client, world, staff_a, rental_a, dashboard_cache):
    client.force_login(staff_a)
    first = client.get(reverse("dashboard"))
    assert first.context["total"].residents == 2 and not first.context["cached"]
    assert "refresh=1" not in first.content.decode()
    ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY + datetime.timedelta(days=30))

    again = client.get(reverse("dashboard"))
    assert again.context["total"].residents == 2 and again.context["cached"]
    assert again.context["counted_at"] == first.context["counted_at"]
    page = again.content.decode()
    assert "refresh=1" in page and timezone.localtime(first.context["counted_at"]).strftime("%H:%M:%S") in page

    fresh = client.get(reverse("dashboard"), {"refresh": "1"})
    assert fresh.context["total"].residents == 3 and not fresh.context["cached"]
    assert client.get(reverse("dashboard")).context["total"].residents == 3


def test_cached_dashboard_figures_are_not_shared_between_scopes(client, world, staff_a, staff_b, supervisor,
                                                                station_a, dashboard_cache):
    client.force_login(staff_a)
    assert client.get(reverse("dashboard")).context["total"].residents == 2
    client.force_login(staff_b)
    assert client.get(reverse("dashboard")).context["total"].residents == 1
    client.force_login(supervisor)
    assert client.get(reverse("dashboard")).context["total"].residents == 3
    assert client.get(reverse("dashboard"), {"station": station_a.pk}).context["total"].residents == 2


def test_cached_figures_are_for_one_day_only(world, station_a, dashboard_cache, rental_a):
    from workspace.dashboards import dashboard

    first = dashboard([station_a.pk], today=TODAY)
    ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY + datetime.timedelta(days=30))
    assert dashboard([station_a.pk], today=TODAY).figures[station_a.pk].residents == 2
    tomorrow = dashboard([station_a.pk], today=TODAY + datetime.timedelta(days=1))
    assert not tomorrow.cached and tomorrow.figures[station_a.pk].residents == 3
    assert first.figures[station_a.pk].residents == 2
