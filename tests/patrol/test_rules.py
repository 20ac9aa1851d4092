"""Time-frozen tests for each rule in PRODUCT.md "Rules" that patrol work applies."""

import datetime

import pytest
import time_machine
from django.core import mail

from housing.factories import LandlordFactory, ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.rules import next_verification_due
from housing.services import persons_anonymise_expired
from patrol.models import Inspection, PropertyRating, VerificationRequest, VisitOutcomeChoices
from patrol.rating import property_rate, property_rate_all
from patrol.services import (
    inspection_record,
    permit_issue,
    permits_eligible,
    verification_sweep,
    visit_record,
)
from persons.models import Person
from persons.services import ANONYMOUS_NAME
from registry.factories import make_user
from registry.models import Notification
from registry.roles import RoleChoices

D = datetime.date


@pytest.mark.parametrize(("stars", "expected"), [(5, D(2027, 1, 15)), (4, D(2026, 7, 15)), (3, D(2026, 4, 15)),
                                                 (0, D(2026, 4, 15)), (2, D(2026, 3, 15)), (1, D(2026, 2, 15))])
def test_verification_interval_follows_the_stars(stars, expected):
    assert next_verification_due(from_date=D(2026, 1, 15), stars=stars) == expected


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a, capacity=3)


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_visit_confirms_moves_out_and_marks_not_found_as_unconfirmed(unit_a, staff_a):
    confirmed, left, missing = ResidenceFactory.create_batch(3, unit=unit_a, start_date=D(2026, 1, 1))
    visit_record(prop=unit_a.property, visited_on=D(2026, 6, 1), actor=staff_a, outcomes={
        confirmed.pk: (VisitOutcomeChoices.CONFIRMED, None),
        left.pk: (VisitOutcomeChoices.MOVED_OUT, D(2026, 5, 20)),
        missing.pk: (VisitOutcomeChoices.NOT_FOUND, None),
    })
    for residence in (confirmed, left, missing):
        residence.refresh_from_db()
    assert (confirmed.status, confirmed.next_verification_due) == ("active", D(2026, 9, 1))
    assert (left.status, left.end_date) == ("ended", D(2026, 5, 20))
    assert missing.status == "unconfirmed" and missing.end_date is None  # never deregistered automatically


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_moved_out_without_a_date_changes_nothing(unit_a, staff_a):
    from django.core.exceptions import ValidationError

    residence = ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 1))
    with pytest.raises(ValidationError):
        visit_record(prop=unit_a.property, visited_on=D(2026, 6, 1), actor=staff_a,
                     outcomes={residence.pk: (VisitOutcomeChoices.MOVED_OUT, None)})
    residence.refresh_from_db()
    assert residence.status == "active"


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_sweep_opens_one_request_per_property_notifies_staff_once_and_escalates_at_14_days(
        unit_a, staff_a, officer_a, supervisor, staff_b, django_capture_on_commit_callbacks):
    ResidenceFactory.create_batch(3, unit=unit_a, start_date=D(2025, 1, 1), next_verification_due=D(2026, 5, 25))
    staff_a.email = "a@example.org"
    staff_a.save()
    with django_capture_on_commit_callbacks(execute=True):
        first = verification_sweep(today=D(2026, 6, 1))
    with django_capture_on_commit_callbacks(execute=True):
        again = verification_sweep(today=D(2026, 6, 1))
    assert (first["opened"], again["opened"]) == (1, 0)
    request = VerificationRequest.objects.get()
    assert request.kind == "visit" and request.due_since == D(2026, 5, 25)
    assert set(Notification.objects.values_list("user__username", flat=True)) == {"staff_a", "officer_a"}
    assert len(mail.outbox) == 1  # only staff_a has an address; sent once

    assert verification_sweep(today=D(2026, 6, 8))["escalated"] == 0  # 14 days overdue only on 06-08
    assert verification_sweep(today=D(2026, 6, 9))["escalated"] == 1
    assert verification_sweep(today=D(2026, 6, 10))["escalated"] == 0
    assert Notification.objects.filter(user=supervisor, kind="verification_overdue").count() == 1


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_four_star_property_asks_the_landlord_to_confirm(community_a):
    landlord_user = make_user(RoleChoices.LANDLORD, username="ll")
    landlord = LandlordFactory(station=community_a.station, user=landlord_user)
    unit = UnitFactory(property__community=community_a, property__landlord=landlord)
    ResidenceFactory(unit=unit, start_date=D(2025, 1, 1), next_verification_due=D(2026, 5, 30))
    PropertyRating.objects.create(property=unit.property, computed_at="2026-05-01T00:00Z", run="x", stars=4,
                                  total=80)
    verification_sweep(today=D(2026, 6, 1))
    assert VerificationRequest.objects.get().kind == "owner"
    assert list(Notification.objects.values_list("user__username", flat=True)) == ["ll"]


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_visit_closes_the_open_request(unit_a, staff_a):
    residence = ResidenceFactory(unit=unit_a, start_date=D(2025, 1, 1), next_verification_due=D(2026, 5, 1))
    verification_sweep(today=D(2026, 6, 1))
    visit_record(prop=unit_a.property, visited_on=D(2026, 6, 1), actor=staff_a,
                 outcomes={residence.pk: (VisitOutcomeChoices.CONFIRMED, None)})
    assert VerificationRequest.objects.get().closed_on == D(2026, 6, 1)


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_permit_eligibility_starts_at_six_months(unit_a, officer_a):
    five_months = ResidenceFactory(unit=unit_a, start_date=D(2026, 1, 2))
    six_months = ResidenceFactory(unit=unit_a, start_date=D(2025, 12, 1))
    eligible = set(permits_eligible(Residence.objects.all(), today=D(2026, 6, 1)))
    assert eligible == {six_months}
    from django.core.exceptions import ValidationError

    with pytest.raises(ValidationError):
        permit_issue(residence=five_months, number="JZZ-1", issued_on=D(2026, 6, 1))
    permit = permit_issue(residence=six_months, number="JZZ-2", issued_on=D(2026, 6, 1))
    assert permit.expires_on == D(2027, 6, 1)
    assert six_months not in permits_eligible(Residence.objects.all(), today=D(2026, 6, 1))


def test_a_second_permit_and_a_permit_for_an_ended_registration_are_refused(unit_a):
    from django.core.exceptions import ValidationError

    resident = ResidenceFactory(unit=unit_a, start_date=D(2025, 1, 1))
    permit_issue(residence=resident, number="JZZ-3", issued_on=D(2025, 12, 1))
    with pytest.raises(ValidationError) as second:
        permit_issue(residence=resident, number="JZZ-4", issued_on=D(2025, 12, 1))
    assert second.value.code == "has_permit"
    gone = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1), status="ended", end_date=D(2025, 1, 1))
    with pytest.raises(ValidationError) as ended:
        permit_issue(residence=gone, number="JZZ-5", issued_on=D(2025, 12, 1))
    assert ended.value.code == "ended"


def test_endorsement_opens_thirty_days_before_expiry(unit_a):
    from django.core.exceptions import ValidationError

    from patrol.services import permit_endorse

    resident = ResidenceFactory(unit=unit_a, start_date=D(2024, 1, 1))
    permit = permit_issue(residence=resident, number="JZZ-6", issued_on=D(2025, 1, 1))  # expires 2026-01-01
    with pytest.raises(ValidationError) as early:
        permit_endorse(permit=permit, endorsed_on=D(2025, 12, 1))
    assert early.value.code == "too_early"
    with pytest.raises(ValidationError) as stale:
        permit_endorse(permit=permit, endorsed_on=D(2025, 12, 2), expected_expires_on=D(2025, 12, 31))
    assert stale.value.code == "stale"
    permit = permit_endorse(permit=permit, endorsed_on=D(2025, 12, 2), expected_expires_on=D(2026, 1, 1))
    assert permit.expires_on == D(2027, 1, 1)


def test_anonymisation_after_three_years_without_a_residence(community_a, station_a):
    with time_machine.travel(datetime.datetime(2020, 1, 1, 10, 0), tick=False):
        gone = ResidenceFactory(unit__property__community=community_a, start_date=D(2019, 1, 1))
        stays = ResidenceFactory(unit__property__community=community_a, start_date=D(2019, 1, 1))
        gone.status, gone.end_date = "ended", D(2020, 1, 1)
        gone.save()
        recent = ResidenceFactory(unit__property__community=community_a, start_date=D(2019, 1, 1))
    recent.status, recent.end_date = "ended", D(2023, 6, 1)
    recent.save()
    assert persons_anonymise_expired(today=D(2023, 1, 1)) == 1  # left 2020-01-01: three years done
    assert persons_anonymise_expired(today=D(2023, 1, 1)) == 0  # idempotent
    gone.person.refresh_from_db()
    assert gone.person.name == ANONYMOUS_NAME and gone.person.phone == "" and gone.person.anonymised_at
    assert Residence.objects.filter(person=gone.person).count() == 1  # history and counts kept
    assert Person.objects.get(pk=stays.person.pk).name != ANONYMOUS_NAME
    assert Person.objects.get(pk=recent.person.pk).name != ANONYMOUS_NAME


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_rating_components_and_stars(unit_a, officer_a):
    prop = unit_a.property
    prop.agreement_signed_on = D(2026, 1, 1)
    prop.save()
    # Two arrivals in the last year, one reported late (6 days); nobody overdue; within capacity.
    ResidenceFactory(unit=unit_a, start_date=D(2026, 3, 1), reported_on=D(2026, 3, 2),
                     next_verification_due=D(2026, 8, 1))
    ResidenceFactory(unit=unit_a, start_date=D(2026, 4, 1), reported_on=D(2026, 4, 7),
                     next_verification_due=D(2026, 8, 1))
    inspection_record(prop=prop, inspected_on=D(2026, 5, 1), inspector=officer_a,
                      items={item: True for item in Inspection.CHECKLIST})
    rating = property_rate(property_id=prop.pk, today=D(2026, 6, 1))
    assert (rating.registration, rating.verification, rating.inspection, rating.occupancy, rating.agreement) == (
        15, 15, 25, 15, 15)
    assert (rating.arrivals, rating.arrivals_on_time) == (2, 1)
    assert rating.total == 85 and rating.stars == 4
    assert PropertyRating.objects.filter(property=prop, is_current=True).count() == 1


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0), tick=False)
def test_property_without_any_data_is_unrated_and_nightly_run_is_resumable(community_a):
    empty = UnitFactory(property__community=community_a).property
    busy = ResidenceFactory(unit__property__community=community_a).unit.property
    assert property_rate_all(run="n1", today=D(2026, 6, 1), batch_size=1) == 2
    assert property_rate_all(run="n1", today=D(2026, 6, 1)) == 0  # already done in this run
    assert PropertyRating.objects.get(property=empty, is_current=True).stars == 0
    assert PropertyRating.objects.get(property=busy, is_current=True).total is not None
    assert property_rate_all(run="n2", today=D(2026, 6, 1)) == 2
    assert PropertyRating.objects.filter(property=busy).count() == 2
    assert PropertyRating.objects.filter(property=busy, is_current=True).count() == 1
