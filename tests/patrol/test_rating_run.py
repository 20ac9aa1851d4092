"""The nightly rating run: a property rated in a batch gets the rating it gets alone, with evidence that matches
its rows counted one by one; on PostgreSQL, batches rated two at a time give the same ratings, commit in order
(a failed batch keeps the ones before it and none after), and the run's bookkeeping counts every property once."""

import datetime
import random
import threading
from collections import Counter
from unittest import mock

import pytest

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import CURRENT_RESIDENCE_STATUSES, Property, Residence, Unit
from patrol import rating
from patrol.models import Inspection, PropertyRating, VerificationRequest, VerificationRequestKind
from patrol.rating import RATED_COLUMNS, property_rate, property_rate_all
from patrol.tasks import rating_recalculate_all
from registry.models import TaskRun

D = datetime.date
TODAY = D(2026, 6, 1)
EVIDENCE = RATED_COLUMNS[7:]


def _city(community, *, properties: int = 14, seed: int = 7) -> list[int]:
    """Properties with every kind of evidence, and without: no units, empty units, crowded units, late and
    on-time reports, departures, overdue verifications, inspections (two on one day), open requests."""
    rng = random.Random(seed)
    ids = []
    for number in range(properties):
        prop = PropertyFactory(community=community,
                               agreement_signed_on=rng.choice([None, D(2025, 3, 1)]))
        ids.append(prop.pk)
        for unit_number in range(number % 4):  # 0 to 3 units
            unit = UnitFactory(property=prop, label=f"{unit_number + 1}01室", capacity=rng.choice([1, 2, 3]))
            for _ in range(rng.randrange(0, 5)):
                start = TODAY - datetime.timedelta(days=rng.randrange(1, 600))
                reported = start + datetime.timedelta(days=rng.choice([0, 2, 3, 4, 9]))
                if rng.random() < 0.3:
                    end = min(TODAY, start + datetime.timedelta(days=rng.randrange(0, 400)))
                    ResidenceFactory(unit=unit, start_date=start, reported_on=reported, status="ended", end_date=end,
                                     end_reported_on=end + datetime.timedelta(days=rng.choice([0, 3, 5])),
                                     next_verification_due=None)
                else:
                    due = TODAY + datetime.timedelta(days=rng.randrange(-40, 60))
                    ResidenceFactory(unit=unit, start_date=start, reported_on=rng.choice([reported, None]),
                                     status=rng.choice(["active", "active", "unconfirmed"]), next_verification_due=due)
        for _ in range(rng.randrange(0, 3)):
            passed = rng.random() < 0.6
            Inspection.objects.create(property=prop, inspected_on=rng.choice([D(2025, 1, 5), D(2026, 4, 2)]),
                                      fire_extinguishers=passed, escape_routes=True, wiring=True, partitions=True,
                                      gas=True, passed=passed)
        if rng.random() < 0.4:
            opened = TODAY - datetime.timedelta(days=rng.choice([3, 20]))
            VerificationRequest.objects.create(property=prop, opened_on=opened, due_since=opened,
                                               kind=rng.choice(list(VerificationRequestKind)))
    return ids


def _counted_one_by_one(property_id: int) -> dict:
    """The evidence of PRODUCT.md "Star rating" for one property, from its rows, in Python."""
    year_ago = TODAY - datetime.timedelta(days=365)
    deadline = datetime.timedelta(days=3)
    residences = list(Residence.objects.filter(unit__property_id=property_id))
    arrived = [r for r in residences if year_ago <= r.start_date <= TODAY]
    departed = [r for r in residences if r.end_date and year_ago <= r.end_date <= TODAY]
    current = [r for r in residences if r.status in CURRENT_RESIDENCE_STATUSES]
    latest = Inspection.objects.filter(property_id=property_id).order_by("-inspected_on", "-pk").first()
    capacity = dict(Unit.objects.filter(property_id=property_id).values_list("pk", "capacity"))
    occupants = Counter(r.unit_id for r in current)
    return {
        "arrivals": len(arrived),
        "arrivals_on_time": sum(1 for r in arrived if r.reported_on and r.reported_on <= r.start_date + deadline),
        "departures": len(departed),
        "departures_on_time": sum(1 for r in departed
                                  if r.end_reported_on and r.end_reported_on <= r.end_date + deadline),
        "current_residents": len(current),
        "overdue_residents": sum(1 for r in current if r.next_verification_due and r.next_verification_due < TODAY),
        "last_inspection_on": latest and latest.inspected_on,
        "last_inspection_passed": latest and latest.passed,
        "units_over_capacity": sum(1 for unit_id, n in occupants.items() if n > capacity[unit_id]),
        "agreement_signed_on": Property.objects.get(pk=property_id).agreement_signed_on,
        "requests_unanswered": VerificationRequest.objects.filter(
            property_id=property_id, kind=VerificationRequestKind.OWNER_CONFIRMATION, closed_on__isnull=True,
            opened_on__lt=TODAY - datetime.timedelta(days=7)).count(),
    }


def _current(run: str | None = None) -> dict[int, tuple]:
    ratings = PropertyRating.objects.filter(is_current=True)
    if run:
        ratings = ratings.filter(run=run)
    return {row[0]: row[1:] for row in ratings.values_list("property_id", *RATED_COLUMNS)}


def test_a_property_rated_in_a_batch_gets_the_rating_it_gets_alone(community_a):
    ids = _city(community_a)
    assert property_rate_all(run="nightly", today=TODAY, batch_size=4) == len(ids)
    in_batches = _current("nightly")
    assert sorted(in_batches) == ids

    alone = {pid: property_rate(property_id=pid, today=TODAY) for pid in ids}
    assert {pid: tuple(getattr(r, name) for name in RATED_COLUMNS) for pid, r in alone.items()} == in_batches
    assert {pid: {name: getattr(r, name) for name in EVIDENCE} for pid, r in alone.items()} == {
        pid: _counted_one_by_one(pid) for pid in ids}
    # The city has each kind of evidence the counts could get wrong when summed over units.
    values = list(in_batches.values())
    for name in ("arrivals", "departures_on_time", "overdue_residents", "units_over_capacity",
                 "requests_unanswered"):
        assert any(v[RATED_COLUMNS.index(name)] for v in values), name
    assert len({v[RATED_COLUMNS.index("stars")] for v in values}) >= 3


def _batches_by_computed_at(run: str) -> list[list[int]]:
    batches = {}
    for pid, at in PropertyRating.objects.filter(run=run).values_list("property_id", "computed_at"):
        batches.setdefault(at, []).append(pid)
    return [sorted(batches[at]) for at in sorted(batches)]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_batches_rated_two_at_a_time_give_the_same_ratings_committed_in_order(community_a):
    ids = _city(community_a)
    assert property_rate_all(run="one-at-a-time", today=TODAY, batch_size=3, workers=1) == len(ids)
    serial = _current("one-at-a-time")

    assert property_rate_all(run="two-at-a-time", today=TODAY, batch_size=3, workers=2) == len(ids)

    assert _current() == _current("two-at-a-time") == serial
    assert PropertyRating.objects.filter(run="one-at-a-time", is_current=True).count() == 0
    # Whole batches, each with its own computed_at, growing with the property ids.
    assert _batches_by_computed_at("two-at-a-time") == [ids[k:k + 3] for k in range(0, len(ids), 3)]
    assert property_rate_all(run="two-at-a-time", today=TODAY, batch_size=3, workers=2) == 0  # all done


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_the_nightly_task_records_every_property_rated_once(community_a):
    ids = _city(community_a, properties=9)
    result = rating_recalculate_all.apply(kwargs={"run": "task-run", "batch_size": 2})
    assert result.successful() and result.result == len(ids)
    assert TaskRun.objects.filter(task="rating_recalculate_all").values_list("status", "rows_changed").get() == (
        "ok", len(ids))
    assert sorted(_current("task-run")) == ids
    assert PropertyRating.objects.filter(run="task-run").count() == len(ids)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_failed_batch_keeps_the_batches_before_it_and_the_rerun_rates_the_rest(community_a):
    ids = _city(community_a, properties=12)
    third, fourth = ids[4], ids[6]  # batches of two
    fourth_rated = threading.Event()
    rate_locked = rating._rate_locked

    def third_batch_fails(batch_ids, **kwargs):
        if third in batch_ids:
            # Fail only once the batch after it has done its work: it must then not commit.
            assert fourth_rated.wait(timeout=30)
            raise RuntimeError("the third batch failed")
        rated = rate_locked(batch_ids, **kwargs)
        if fourth in batch_ids:
            fourth_rated.set()
        return rated

    with mock.patch.object(rating, "_rate_locked", third_batch_fails), pytest.raises(RuntimeError, match="third"):
        property_rate_all(run="nightly", today=TODAY, batch_size=2, workers=2)
    assert sorted(_current("nightly")) == ids[:4]
    assert PropertyRating.objects.filter(run="nightly").count() == 4

    assert property_rate_all(run="nightly", today=TODAY, batch_size=2, workers=2) == len(ids) - 4
    assert sorted(_current("nightly")) == sorted(_current()) == ids
    assert _batches_by_computed_at("nightly") == [ids[k:k + 2] for k in range(0, len(ids), 2)]
