"""Compliance star ratings of properties (PRODUCT.md "Star rating"), computed in the database.

Each batch of properties is rated by one ``INSERT ... SELECT``: the components, their evidence, the
total and the stars are SQL expressions built with the ORM (so the same code runs on SQLite and
PostgreSQL), and the batch's previous snapshots stop being current in the same transaction. A run
killed half-way leaves every property with exactly one current rating; the rerun (same ``run``
label) skips the batches already done.
"""

import datetime

from django.conf import settings
from django.db import connection, transaction
from django.db.models import (
    Case,
    Exists,
    ExpressionWrapper,
    F,
    FloatField,
    IntegerField,
    OuterRef,
    Q,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Cast, Coalesce, Round
from django.utils import timezone

from housing.models import Property, Residence, Unit

from .models import Inspection, PropertyRating, VerificationRequest, VerificationRequestKind

BATCH_SIZE = 5000
CURRENT = ("active", "unconfirmed")


class SubqueryCount(Subquery):
    """``(SELECT COUNT(*) FROM (<correlated subquery>))``: one row whatever the inner query groups by."""

    template = "(SELECT COUNT(*) FROM (%(subquery)s) _counted)"
    output_field = IntegerField()


def _count(queryset) -> SubqueryCount:
    return SubqueryCount(queryset.order_by().values("pk"))


def rated_properties(today: datetime.date):
    """Properties annotated with every component, its evidence, the total and the stars."""
    rules = settings.REGISTRY
    weights = rules["RATING_WEIGHTS"]
    deadline = datetime.timedelta(days=rules["REPORT_DEADLINE_DAYS"])
    year_ago = today - datetime.timedelta(days=365)
    inspection_since = today - datetime.timedelta(days=30 * rules["INSPECTION_VALID_MONTHS"] + 5)
    answer_by = today - datetime.timedelta(days=rules["REMINDER_ANSWER_DAYS"])

    residences = Residence.objects.filter(unit__property=OuterRef("pk"))
    arrivals = residences.filter(start_date__gte=year_ago, start_date__lte=today)
    departures = residences.filter(end_date__gte=year_ago, end_date__lte=today)
    current = residences.filter(status__in=CURRENT)
    latest_inspection = Inspection.objects.filter(property=OuterRef("pk")).order_by("-inspected_on", "-id")
    unit_occupants = SubqueryCount(
        Residence.objects.filter(unit=OuterRef("pk"), status__in=CURRENT).order_by().values("pk"))
    crowded_units = Unit.objects.filter(property=OuterRef("pk")).annotate(occupants=unit_occupants).filter(
        occupants__gt=F("capacity"))
    unanswered = VerificationRequest.objects.filter(
        property=OuterRef("pk"), kind=VerificationRequestKind.OWNER_CONFIRMATION, closed_on__isnull=True,
        opened_on__lt=answer_by)

    def share(part: str, whole: str, weight: int):
        """round(weight * part / whole), or NULL when there is nothing to measure."""
        return Case(
            When(**{f"{whole}__gt": 0}, then=Cast(Round(
                ExpressionWrapper(Value(float(weight)) * F(part) / F(whole), output_field=FloatField())),
                IntegerField())),
            default=None, output_field=IntegerField())

    queryset = Property.objects.annotate(
        arrivals=_count(arrivals),
        arrivals_on_time=_count(arrivals.filter(reported_on__lte=F("start_date") + deadline)),
        departures=_count(departures),
        departures_on_time=_count(departures.filter(end_reported_on__lte=F("end_date") + deadline)),
        current_residents=_count(current),
        overdue_residents=_count(current.filter(next_verification_due__lt=today)),
        last_inspection_on=Subquery(latest_inspection.values("inspected_on")[:1]),
        last_inspection_passed=Subquery(latest_inspection.values("passed")[:1]),
        units_over_capacity=SubqueryCount(crowded_units.order_by().values("pk")),
        requests_unanswered=SubqueryCount(unanswered.order_by().values("pk")),
        reported=F("arrivals") + F("departures"),
        reported_on_time=F("arrivals_on_time") + F("departures_on_time"),
        verified=F("current_residents") - F("overdue_residents"),
    ).annotate(
        registration=share("reported_on_time", "reported", weights["registration"]),
        verification=share("verified", "current_residents", weights["verification"]),
        inspection=Case(When(last_inspection_on__gte=inspection_since, last_inspection_passed=True,
                             then=Value(weights["inspection"])), default=Value(0), output_field=IntegerField()),
        occupancy=Case(When(units_over_capacity=0, then=Value(weights["occupancy"])), default=Value(0),
                       output_field=IntegerField()),
        agreement=Case(When(agreement_signed_on__isnull=False, requests_unanswered=0,
                            then=Value(weights["agreement"])), default=Value(0), output_field=IntegerField()),
    ).annotate(
        earned=Coalesce(F("registration"), Value(0)) + Coalesce(F("verification"), Value(0)) + F("inspection")
        + F("occupancy") + F("agreement"),
        # Components with no data are left out of the maximum rather than counted as failed.
        possible=Case(When(registration__isnull=False, then=Value(weights["registration"])), default=Value(0))
        + Case(When(verification__isnull=False, then=Value(weights["verification"])), default=Value(0))
        + Value(weights["inspection"] + weights["occupancy"] + weights["agreement"]),
        has_data=Q(reported__gt=0) | Q(current_residents__gt=0) | Q(last_inspection_on__isnull=False),
    ).annotate(
        total=Case(When(has_data=True, then=Cast(Round(ExpressionWrapper(
            Value(100.0) * F("earned") / F("possible"), output_field=FloatField())), IntegerField())),
            default=None, output_field=IntegerField()),
    )
    star_cases = [When(total__gte=threshold, then=Value(stars))
                  for threshold, stars in rules["RATING_STAR_THRESHOLDS"]]
    return queryset.annotate(
        stars=Case(When(total__isnull=True, then=Value(0)), *star_cases, default=Value(1),
                   output_field=IntegerField()))


_COLUMNS = ["registration", "verification", "inspection", "occupancy", "agreement", "total", "stars",
            "arrivals", "arrivals_on_time", "departures", "departures_on_time", "current_residents",
            "overdue_residents", "last_inspection_on", "last_inspection_passed", "units_over_capacity",
            "agreement_signed_on", "requests_unanswered"]


def _rate_batch(property_ids_query, *, run: str, today: datetime.date) -> int:
    """Rate one batch in one transaction: retire the old current snapshots, insert the new ones."""
    now = timezone.now()
    with transaction.atomic():
        # Two ratings of one property at once (a re-rating after a registration beside the nightly run)
        # would each retire the snapshot the other has not committed yet and both insert a current one.
        # Locking the properties first (in id order, so batches cannot deadlock) makes the second wait
        # and then retire the first's snapshot. NO KEY UPDATE leaves inserts that reference them alone.
        ids = list(Property.objects.filter(pk__in=list(property_ids_query)).order_by("pk")
                   .select_for_update(no_key=True).values_list("pk", flat=True))
        if not ids:
            return 0
        PropertyRating.objects.filter(property_id__in=ids, is_current=True).exclude(run=run).update(
            is_current=False)
        select = rated_properties(today).filter(pk__in=ids).values_list(
            "pk", Value(now), Value(run), Value(True), *_COLUMNS)
        sql, params = select.query.sql_with_params()
        columns = ", ".join(["property_id", "computed_at", "run", "is_current", *_COLUMNS])
        with connection.cursor() as cursor:
            cursor.execute(f"INSERT INTO patrol_propertyrating ({columns}) {sql}", params)  # noqa: S608
            return cursor.rowcount


def property_rate_all(*, run: str | None = None, today: datetime.date | None = None,
                      batch_size: int = BATCH_SIZE) -> int:
    """Rate every property not yet rated in this ``run``; returns how many were rated."""
    today = today or timezone.localdate()
    run = run or f"nightly-{today.isoformat()}"
    done_in_run = PropertyRating.objects.filter(property=OuterRef("pk"), run=run, is_current=True)
    rated = 0
    last_id = 0
    while True:
        batch = (Property.objects.filter(pk__gt=last_id).exclude(Exists(done_in_run))
                 .order_by("pk").values_list("pk", flat=True)[:batch_size])
        ids = list(batch)
        if not ids:
            return rated
        rated += _rate_batch(ids, run=run, today=today)
        last_id = ids[-1]


def properties_rate(*, property_ids: list[int], today: datetime.date | None = None) -> int:
    """Re-rate these properties now, in one batch; ids of properties gone meanwhile are skipped."""
    today = today or timezone.localdate()
    run = f"change-{timezone.now():%Y%m%d%H%M%S%f}"
    return _rate_batch(property_ids, run=run, today=today)


def property_rate(*, property_id: int, today: datetime.date | None = None) -> PropertyRating | None:
    """Re-rate one property now (after an inspection, a visit, a registration...)."""
    properties_rate(property_ids=[property_id], today=today)
    return PropertyRating.objects.filter(property_id=property_id, is_current=True).first()


def current_stars(property_id: int) -> int:
    return PropertyRating.objects.filter(property_id=property_id, is_current=True).values_list(
        "stars", flat=True).first() or 0
