"""The set-based rating and sweep: every component from its evidence, digests instead of a message per
property, and a fixed number of queries whatever the number of properties."""

import datetime

import pytest
import time_machine
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from patrol.models import Inspection, VerificationRequest, VerificationRequestKind
from patrol.rating import property_rate
from patrol.services import verification_sweep
from registry.models import Notification

D = datetime.date
TODAY = D(2026, 6, 1)
pytestmark = pytest.mark.usefixtures("_frozen")


@pytest.fixture
def _frozen():
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False):
        yield


def _inspect(prop, on, passed):
    return Inspection.objects.create(property=prop, inspected_on=on, fire_extinguishers=passed, escape_routes=True,
                                     wiring=True, partitions=True, gas=True, passed=passed)


def test_each_component_is_scored_from_its_evidence(community_a):
    prop = PropertyFactory(community=community_a, agreement_signed_on=D(2025, 1, 1))
    room = UnitFactory(property=prop, capacity=2)
    # Arrivals in the last 12 months: one reported in time, one 6 days late; a departure reported in time.
    later = D(2026, 9, 1)
    ResidenceFactory(unit=room, start_date=D(2026, 2, 1), reported_on=D(2026, 2, 3), next_verification_due=later)
    ResidenceFactory(unit=room, start_date=D(2026, 3, 1), reported_on=D(2026, 3, 7), next_verification_due=later)
    ResidenceFactory(unit=room, start_date=D(2024, 1, 1), reported_on=D(2024, 1, 1),
                     next_verification_due=D(2026, 5, 1))  # overdue
    ResidenceFactory(unit=room, start_date=D(2024, 1, 1), status="ended", end_date=D(2026, 4, 1),
                     end_reported_on=D(2026, 4, 2), next_verification_due=None)
    # The latest inspection failed, though an older one passed.
    _inspect(prop, D(2026, 1, 10), True)
    _inspect(prop, D(2026, 5, 10), False)
    # A confirmation request unanswered for more than 7 days.
    VerificationRequest.objects.create(property=prop, kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                       opened_on=D(2026, 5, 1), due_since=D(2026, 5, 1))

    rating = property_rate(property_id=prop.pk, today=TODAY)

    assert (rating.arrivals, rating.arrivals_on_time, rating.departures, rating.departures_on_time) == (2, 1, 1, 1)
    assert (rating.current_residents, rating.overdue_residents) == (3, 1)
    assert (rating.last_inspection_on, rating.last_inspection_passed) == (D(2026, 5, 10), False)
    assert (rating.units_over_capacity, rating.requests_unanswered) == (1, 1)
    # registration 30 * 2/3, verification 15 * 2/3; inspection, occupancy and agreement earn nothing.
    assert (rating.registration, rating.verification, rating.inspection, rating.occupancy, rating.agreement) == (
        20, 10, 0, 0, 0)
    assert (rating.total, rating.stars) == (30, 1)


def test_the_latest_inspection_of_a_day_is_the_one_entered_last(community_a):
    prop = UnitFactory(property__community=community_a).property
    _inspect(prop, D(2026, 5, 10), False)
    _inspect(prop, D(2026, 5, 10), True)  # a re-inspection the same day
    rating = property_rate(property_id=prop.pk, today=TODAY)
    assert rating.last_inspection_passed is True and rating.inspection == 25
    # No residents and no reports: those two components are left out of the maximum (25 + 15 of 55;
    # no agreement signed).
    assert (rating.registration, rating.verification, rating.total, rating.stars) == (None, None, 73, 3)


def _due_property(community):
    unit = UnitFactory(property__community=community)
    ResidenceFactory(unit=unit, start_date=D(2025, 1, 1), next_verification_due=D(2026, 5, 25))
    return unit.property


def test_station_staff_get_one_digest_whatever_the_number_of_properties(client, community_a, community_b, staff_a,
                                                                        officer_a, staff_b):
    due = [_due_property(community_a) for _ in range(3)]
    _due_property(community_b)
    assert verification_sweep(today=TODAY)["opened"] == 4
    mine = Notification.objects.get(user=staff_a)
    assert Notification.objects.filter(user=officer_a).count() == 1
    assert "3" in mine.title and mine.url == reverse("housing:property_list") + "?verification=open"
    assert Notification.objects.filter(user=staff_b).count() == 1
    # The digest's link lists exactly the station's properties waiting for a visit.
    client.force_login(staff_a)
    listed = client.get(mine.url).context["page_obj"].object_list
    assert sorted(p.pk for p in listed) == sorted(p.pk for p in due)
    # A second run the same day, or with new properties due, sends no second digest that day.
    _due_property(community_a)
    assert verification_sweep(today=TODAY)["opened"] == 1
    assert Notification.objects.filter(user=staff_a).count() == 1


def test_supervisors_get_one_escalation_digest_naming_each_station(community_a, community_b, supervisor):
    _due_property(community_a), _due_property(community_a), _due_property(community_b)
    verification_sweep(today=TODAY)
    assert verification_sweep(today=D(2026, 6, 9))["escalated"] == 3
    assert verification_sweep(today=D(2026, 6, 9))["escalated"] == 0
    digest = Notification.objects.get(user=supervisor, kind="verification_overdue")
    assert "3" in digest.title
    assert set(digest.body.splitlines()) == {f"{community_a.station.name}: 2", f"{community_b.station.name}: 1"}
    assert digest.url == reverse("dashboard")


def test_the_sweep_costs_the_same_queries_for_two_or_twenty_properties(community_a, staff_a):
    def sweep_queries(count, today):
        for _ in range(count):
            _due_property(community_a)
        with CaptureQueriesContext(connection) as queries:
            assert verification_sweep(today=today)["opened"] == count
        return len(queries)

    assert sweep_queries(2, TODAY) == sweep_queries(20, TODAY + datetime.timedelta(days=1))
