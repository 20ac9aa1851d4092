"""The dashboards' kept figures (workspace/tallies.py): after every kind of write, what the dashboard reads from
them is what counting the records afresh gives; folding the deltas changes nothing; the nightly check finds and
repairs a figure written around the triggers. Run on SQLite (row triggers) and PostgreSQL (statement triggers)."""

import datetime
import io

from django.core.management import call_command
from django.utils import timezone

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import CURRENT_RESIDENCE_STATUSES, Property, Residence
from patrol.models import PropertyRating
from persons.factories import PersonFactory
from portal.models import Submission
from registry.models import Station
from workspace import tallies
from workspace.dashboards import NOT_RECORDED, Period, departures_by_reason, moves_by_month, station_figures
from workspace.models import Tally

TODAY = timezone.localdate()
DAY = datetime.timedelta(days=1)
PERIOD = Period(since=TODAY - 400 * DAY, until=TODAY)


def afresh(station_id: int) -> dict:
    """The kept figures' meaning, counted record by record from the tables (the oracle)."""
    residences = Residence.objects.filter(station_id=station_id)
    current = residences.filter(status__in=CURRENT_RESIDENCE_STATUSES)
    reports = Submission.objects.filter(station_id=station_id, reported_on__gte=PERIOD.since,
                                        reported_on__lte=PERIOD.until)
    rated = PropertyRating.objects.filter(property__station_id=station_id, is_current=True)
    properties = Property.objects.filter(station_id=station_id).count()
    stars = {s: rated.filter(stars=s).count() for s in range(5, 0, -1)}
    ended = residences.filter(status="ended", end_date__gte=PERIOD.since, end_date__lte=PERIOD.until)
    return {
        "residents": current.count(), "unconfirmed": current.filter(status="unconfirmed").count(),
        "overdue": current.filter(next_verification_due__lt=TODAY).count(),
        "due_soon": current.filter(next_verification_due__gte=TODAY,
                                   next_verification_due__lte=TODAY + 7 * DAY).count(),
        "properties": properties, "reports": reports.count(), "late": reports.filter(is_late=True).count(),
        "stars": {**stars, 0: properties - sum(stars.values())},
        "arrivals": residences.filter(start_date__gte=PERIOD.since, start_date__lte=PERIOD.until).count(),
        "departures": residences.filter(end_date__gte=PERIOD.since, end_date__lte=PERIOD.until).count(),
        "reasons": {reason: ended.filter(end_reason=reason).count() for reason in ("moved_within", "left_district")}
        | {NOT_RECORDED: ended.filter(end_reason="").count()},
    }


def kept(station_id: int) -> dict:
    """The same figures as the dashboard reads them from the tallies."""
    stats = station_figures([station_id], today=TODAY, period=PERIOD)[station_id]
    months = moves_by_month([station_id], period=PERIOD)
    reasons = departures_by_reason([station_id], period=PERIOD)
    return {
        **{name: getattr(stats, name) for name in ("residents", "unconfirmed", "overdue", "due_soon", "properties",
                                                   "reports", "late")},
        "stars": stats.stars,
        "arrivals": sum(m["arrivals"] for m in months), "departures": sum(m["departures"] for m in months),
        "reasons": {reason: reasons[reason] for reason in ("moved_within", "left_district", NOT_RECORDED)},
    }


def assert_kept_as_counted(*stations):
    for station in stations:
        assert kept(station.pk) == afresh(station.pk), station
    assert tallies.check()["different"] == 0


def test_figures_follow_every_kind_of_write(rental_a, rental_b, landlord_a, station_a, station_b, community_b):
    unit_a, unit_b = rental_a.units.first(), rental_b.units.first()
    # Registrations, one at a time and in bulk.
    first = ResidenceFactory(unit=unit_a, next_verification_due=TODAY - 3 * DAY, start_date=TODAY - 40 * DAY)
    second = ResidenceFactory(unit=unit_a, status="unconfirmed", next_verification_due=TODAY + 3 * DAY)
    undated = ResidenceFactory(unit=unit_b, next_verification_due=None, start_date=TODAY - 2 * DAY)
    Residence.objects.bulk_create([Residence(person=PersonFactory(registered_station=station_b), unit=unit_b,
                                             station_id=station_b.pk, start_date=TODAY - n * DAY, reason="work",
                                             source="desk", status="active", next_verification_due=TODAY + n * DAY)
                                   for n in range(1, 6)])
    assert_kept_as_counted(station_a, station_b)

    # A move-out with its reason, a confirmation, a verification, a correction of the move-in day.
    first.status, first.end_date, first.end_reason = "ended", TODAY - DAY, "left_district"
    first.save()
    second.status, second.next_verification_due = "active", TODAY + 60 * DAY
    second.save()
    undated.start_date = TODAY - 500 * DAY  # before the period
    undated.save()
    assert_kept_as_counted(station_a, station_b)

    # Writes around save(): a queryset update and a delete; an update that changes nothing counted.
    Residence.objects.filter(station_id=station_b.pk, next_verification_due__gt=TODAY + 3 * DAY).update(
        status="ended", end_date=TODAY)
    Residence.objects.filter(pk=second.pk).update(reported_on=TODAY)
    Residence.objects.filter(station_id=station_b.pk, next_verification_due=TODAY + DAY).delete()
    assert_kept_as_counted(station_a, station_b)

    # Owners' reports: made, found late, deleted.
    report = Submission.objects.create(kind="departure", property=rental_a, unit=unit_a, residence=second,
                                       date=TODAY, reported_on=TODAY - 2 * DAY, submitted_by=landlord_a.user)
    Submission.objects.filter(pk=report.pk).update(is_late=True)
    Submission.objects.create(kind="departure", property=rental_a, unit=unit_a, residence=second, date=TODAY,
                              reported_on=TODAY, submitted_by=landlord_a.user).delete()
    assert_kept_as_counted(station_a, station_b)

    # Properties and their ratings: a new property, a rating, a re-rating, and a property that moves station.
    extra = PropertyFactory(community=rental_a.community, landlord=landlord_a)
    UnitFactory(property=extra)
    PropertyRating.objects.create(property=rental_a, computed_at=timezone.now(), run="a", stars=4, total=80)
    PropertyRating.objects.create(property=extra, computed_at=timezone.now(), run="a", stars=2, total=40)
    assert_kept_as_counted(station_a, station_b)
    PropertyRating.objects.filter(property=rental_a).update(is_current=False)
    PropertyRating.objects.create(property=rental_a, computed_at=timezone.now(), run="b", stars=5, total=95)
    Property.objects.filter(pk=extra.pk).update(community=community_b, station=station_b)
    assert_kept_as_counted(station_a, station_b)
    PropertyRating.objects.filter(property=extra).update(is_current=False)
    Property.objects.filter(pk=extra.pk).update(address="乙二路2号")
    extra.units.all().delete()
    Property.objects.filter(pk=extra.pk).delete()
    assert_kept_as_counted(station_a, station_b)


def test_folding_the_deltas_changes_no_figure(rental_a, station_a):
    unit = rental_a.units.first()
    residences = [ResidenceFactory(unit=unit, start_date=TODAY - 10 * DAY, next_verification_due=TODAY + DAY)
                  for _ in range(4)]
    for residence in residences[:3]:
        residence.status, residence.end_date = "ended", TODAY
        residence.save()
    before, rows = kept(station_a.pk), Tally.objects.count()
    removed = tallies.compact()
    assert removed > 0 and Tally.objects.count() == rows - removed
    # One row per station, kind, day and label, none of them zero.
    folded = list(Tally.objects.values_list("station_id", "kind", "day", "label"))
    assert len(folded) == len(set(folded)) and not Tally.objects.filter(n=0).exists()
    assert kept(station_a.pk) == before == afresh(station_a.pk)
    assert tallies.compact() == 0


def test_the_nightly_check_finds_and_repairs_a_figure_written_around_the_triggers(rental_a, station_a):
    ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY - DAY)
    assert tallies.check()["different"] == 0
    Tally.objects.create(station_id=station_a.pk, kind="current", day=TODAY - DAY, label="active", n=5)
    assert kept(station_a.pk)["overdue"] == 6
    found = tallies.check()
    assert found["different"] == 1 and found["figures"] > 0
    assert kept(station_a.pk) == afresh(station_a.pk) and kept(station_a.pk)["overdue"] == 1


def test_a_generated_city_has_its_figures_counted(db):
    """generate_city loads residences with their triggers off on PostgreSQL and counts the figures after."""
    call_command("generate_city", "--persons", "1000", "--stations", "5", "--communities", "20",
                 stdout=io.StringIO())
    assert Tally.objects.exists()
    assert tallies.check()["different"] == 0
    station = Station.objects.order_by("pk").first()
    assert kept(station.pk) == afresh(station.pk) and kept(station.pk)["residents"] > 0


def test_the_periodic_tasks_fold_and_check(rental_a, station_a):
    from registry.models import TaskRun
    from workspace.tasks import tally_check_task, tally_compact_task

    ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY + DAY)
    ResidenceFactory(unit=rental_a.units.first(), next_verification_due=TODAY + DAY)
    assert tally_compact_task.delay().get() > 0
    assert tally_check_task.delay().get()["different"] == 0
    run = TaskRun.objects.get(task="tally_check")
    assert run.status == "ok" and run.rows_changed == 0 and "'different': 0" in run.result
