"""Reads for the supervisors' dashboards: a station's figures, and every station of a district side by side.

Each figure is one aggregate query over indexed columns (the station is copied onto residences,
properties and submissions for exactly this), so the district page costs the same few queries
whether it has 5 stations or 50. At a million persons those queries still take about 250 ms of
database time per page, so a page's figures are kept in the shared cache for
``REGISTRY["DASHBOARD_CACHE_SECONDS"]`` (the page says when they were counted, and can count afresh).
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Q
from django.db.models.functions import TruncMonth
from django.utils import timezone

from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import Property, Residence
from patrol.models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, Visit
from portal.models import Submission


@dataclass
class StationFigures:
    """The numbers on one station's dashboard (or one row of the district table)."""

    station_id: int
    residents: int = 0
    unconfirmed: int = 0
    overdue: int = 0
    due_soon: int = 0
    properties: int = 0
    waiting: int = 0
    waiting_old: int = 0
    reports_year: int = 0
    late_year: int = 0
    permits_expiring: int = 0
    escalated: int = 0
    stars: dict = field(default_factory=dict)  # {0..5: properties}

    @property
    def late_share(self) -> int | None:
        """Percentage of owners' reports in the last 12 months that came after the deadline."""
        return round(100 * self.late_year / self.reports_year) if self.reports_year else None


def station_figures(station_ids, *, today: datetime.date | None = None) -> dict[int, StationFigures]:
    """Figures for each station in ``station_ids``, in a fixed number of grouped queries."""
    today = today or timezone.localdate()
    rules = settings.REGISTRY
    ids = list(station_ids)
    figures = {pk: StationFigures(station_id=pk) for pk in ids}
    soon = today + datetime.timedelta(days=7)
    for row in (Residence.objects.filter(station_id__in=ids, status__in=CURRENT).values("station_id")
                .annotate(residents=Count("id"), unconfirmed=Count("id", filter=Q(status="unconfirmed")),
                          overdue=Count("id", filter=Q(next_verification_due__lt=today)),
                          due_soon=Count("id", filter=Q(next_verification_due__gte=today,
                                                        next_verification_due__lte=soon)))
                .order_by()):
        stats = figures[row["station_id"]]
        stats.residents, stats.unconfirmed = row["residents"], row["unconfirmed"]
        stats.overdue, stats.due_soon = row["overdue"], row["due_soon"]
    for station_id, count in (Property.objects.filter(station_id__in=ids).values("station_id")
                              .annotate(n=Count("id")).order_by().values_list("station_id", "n")):
        figures[station_id].properties = count
    wait_cutoff = timezone.now() - datetime.timedelta(days=rules["SUBMISSION_WAIT_REMINDER_DAYS"])
    year_ago = today - datetime.timedelta(days=365)
    for row in (Submission.objects.filter(station_id__in=ids).values("station_id")
                .annotate(waiting=Count("id", filter=Q(status="waiting")),
                          waiting_old=Count("id", filter=Q(status="waiting", created_at__lt=wait_cutoff)),
                          reports_year=Count("id", filter=Q(reported_on__gte=year_ago)),
                          late_year=Count("id", filter=Q(reported_on__gte=year_ago, is_late=True)))
                .order_by()):
        stats = figures[row["station_id"]]
        stats.waiting, stats.waiting_old = row["waiting"], row["waiting_old"]
        stats.reports_year, stats.late_year = row["reports_year"], row["late_year"]
    expiring_until = today + datetime.timedelta(days=rules["PERMIT_REMINDER_DAYS"])
    for station_id, count in (ResidencePermit.objects.filter(station_id__in=ids, expires_on__gte=today,
                                                             expires_on__lte=expiring_until)
                              .values("station_id").annotate(n=Count("id")).order_by()
                              .values_list("station_id", "n")):
        figures[station_id].permits_expiring = count
    for station_id, count in (VerificationRequest.objects.filter(property__station_id__in=ids,
                                                                 closed_on__isnull=True,
                                                                 escalated_on__isnull=False)
                              .values("property__station_id").annotate(n=Count("id")).order_by()
                              .values_list("property__station_id", "n")):
        figures[station_id].escalated = count
    rated = defaultdict(dict)
    for station_id, stars, count in (PropertyRating.objects.filter(property__station_id__in=ids, is_current=True)
                                     .values("property__station_id", "stars").annotate(n=Count("id")).order_by()
                                     .values_list("property__station_id", "stars", "n")):
        rated[station_id][stars] = count
    for station_id, stats in figures.items():
        counts = rated.get(station_id, {})
        unrated = stats.properties - sum(counts.values()) + counts.get(0, 0)
        stats.stars = {stars: counts.get(stars, 0) for stars in range(5, 0, -1)} | {0: max(unrated, 0)}
    return figures


def moves_by_month(station_ids, *, today: datetime.date | None = None, months: int = 12) -> list[dict]:
    """Arrivals and departures per month for the last ``months`` months (oldest first), all stations summed."""
    today = today or timezone.localdate()
    back = today.year * 12 + today.month - 1 - (months - 1)
    first = datetime.date(back // 12, back % 12 + 1, 1)
    arrivals = dict(Residence.objects.filter(station_id__in=station_ids, start_date__gte=first,
                                             start_date__lte=today)
                    .annotate(month=TruncMonth("start_date")).values("month").annotate(n=Count("id"))
                    .order_by().values_list("month", "n"))
    departures = dict(Residence.objects.filter(station_id__in=station_ids, end_date__gte=first,
                                               end_date__lte=today)
                      .annotate(month=TruncMonth("end_date")).values("month").annotate(n=Count("id"))
                      .order_by().values_list("month", "n"))
    rows, month = [], first
    while month <= today:
        rows.append({"month": month, "arrivals": _by_month(arrivals, month),
                     "departures": _by_month(departures, month)})
        month = (month + datetime.timedelta(days=32)).replace(day=1)
    return rows


def _by_month(counts: dict, month: datetime.date) -> int:
    # TruncMonth gives dates on PostgreSQL and SQLite alike for a DateField.
    return counts.get(month, 0)


@dataclass
class Dashboard:
    """One dashboard page's figures: per station, the monthly moves of them all, and when they were counted."""

    figures: dict[int, StationFigures]
    months: list[dict]
    counted_at: datetime.datetime
    cached: bool = False


def _cache_key(station_ids: list[int], today: datetime.date) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(station_ids))).encode()).hexdigest()[:32]
    return f"dashboard:v1:{today.isoformat()}:{digest}"


def dashboard(station_ids, *, today: datetime.date | None = None, fresh: bool = False) -> Dashboard:
    """The figures for these stations, from the cache if counted less than DASHBOARD_CACHE_SECONDS ago.

    ``fresh`` counts again (and replaces the cached copy). The key holds the day, so figures that
    depend on "today" never outlive it, and the sorted station ids, so a station's page and a district
    page never share figures.
    """
    today = today or timezone.localdate()
    ids = sorted(set(station_ids))
    seconds = settings.REGISTRY["DASHBOARD_CACHE_SECONDS"]
    key = _cache_key(ids, today)
    if seconds > 0 and not fresh:
        found = cache.get(key)
        if found is not None:
            found.cached = True
            return found
    result = Dashboard(figures=station_figures(ids, today=today), months=moves_by_month(ids, today=today),
                       counted_at=timezone.now())
    if seconds > 0:
        cache.set(key, result, seconds)
    return result


def staff_workload(station_ids, since: datetime.date, until: datetime.date) -> list[dict]:
    """Each station user's work in the period (issue 16, point 4): residents registered (at the desk or by
    import), household visits, owners' reports decided, inspections. Four grouped queries, whatever the
    number of users; users with no work in the period are listed too, with zeros."""
    ids = list(station_ids)
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    users = list(get_user_model().objects.filter(profile__station_id__in=ids, profile__role__in=("staff", "officer"),
                                                 is_active=True)
                 .order_by("profile__station__code", "username").values("pk", "username", "profile__station__name"))
    counts = defaultdict(dict)
    for name, rows in [
        ("registrations", Residence.objects.filter(created_by__in=[u["pk"] for u in users], created_at__gte=start,
                                                   created_at__lt=end).values_list("created_by").annotate(n=Count("pk"))),
        ("visits", Visit.objects.filter(visited_by__in=[u["pk"] for u in users], visited_on__gte=since,
                                        visited_on__lte=until).values_list("visited_by").annotate(n=Count("pk"))),
        ("reviews", Submission.objects.filter(decided_by__in=[u["pk"] for u in users], decided_at__gte=start,
                                              decided_at__lt=end).values_list("decided_by").annotate(n=Count("pk"))),
        ("inspections", Inspection.objects.filter(inspector__in=[u["pk"] for u in users], inspected_on__gte=since,
                                                  inspected_on__lte=until).values_list("inspector")
         .annotate(n=Count("pk"))),
    ]:
        for user_id, n in rows.order_by():
            counts[user_id][name] = n
    kinds = ("registrations", "visits", "reviews", "inspections")
    return [{"user_id": u["pk"], "username": u["username"], "station": u["profile__station__name"],
             **{kind: counts[u["pk"]].get(kind, 0) for kind in kinds}} for u in users]
