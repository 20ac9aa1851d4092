"""Reads for the supervisors' dashboards: a station's figures, and every station of a district side by side.

The figures over the big tables (residents and their verifications, moves in and out, owners' reports,
properties and their stars) are read from the counts the database keeps per station and day
(``workspace/tallies.py``): a district of five million persons is a few thousand rows to sum, not six million
residences to count. The rest are grouped queries over small or well-indexed sets (reports waiting, permits,
escalated verifications, the work by staff), so the district page costs the same few queries whether it has 5
stations or 50. A page's figures are still kept in the shared cache for ``REGISTRY["DASHBOARD_CACHE_SECONDS"]``
(the page says when they were counted, and can count afresh).

Some figures are "now" (residents, verifications overdue today); the others are about a period the page
chooses (``Period``): owners' reports and late ones, arrivals and departures by month, overdue verifications
at each month's end, and the work by staff.
"""

import datetime
import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncMonth
from django.utils import timezone

from housing.models import Residence, ResidenceEndReasonChoices, ResidenceStatusChoices
from patrol.models import Inspection, ResidencePermit, VerificationRequest, Visit
from portal.models import Submission
from registry.models import AuditAction, AuditEvent

from .models import Tally


@dataclass(frozen=True)
class Period:
    """The days a dashboard's period figures count, both ends included."""

    since: datetime.date
    until: datetime.date

    @classmethod
    def default(cls, today: datetime.date) -> "Period":
        """The last 12 months: from the first day of the month 11 months back, to today."""
        return cls(since=_month_start(today, back=11), until=today)

    def months(self) -> list[datetime.date]:
        """The first day of each month the period touches, oldest first."""
        months, month = [], self.since.replace(day=1)
        while month <= self.until:
            months.append(month)
            month = _month_start(month, back=-1)
        return months

    def clip(self, month: datetime.date) -> tuple[datetime.date, datetime.date]:
        """The days of ``month`` inside the period (first, last)."""
        return max(month, self.since), min(_month_start(month, back=-1) - datetime.timedelta(days=1), self.until)


def _month_start(day: datetime.date, *, back: int) -> datetime.date:
    """The first day of the month ``back`` months before ``day``'s (negative: after)."""
    index = day.year * 12 + day.month - 1 - back
    return datetime.date(index // 12, index % 12 + 1, 1)


def waiting_cutoff(today: datetime.date) -> datetime.date:
    """Reports sent before this day began have waited "more than SUBMISSION_WAIT_REMINDER_DAYS days": the same
    day the staff's daily reminder counts from, and the review queue's ``submitted_before`` filter."""
    return today - datetime.timedelta(days=settings.REGISTRY["SUBMISSION_WAIT_REMINDER_DAYS"])


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
    reports: int = 0  # owners' reports made in the period (any status)
    late: int = 0  # ... of which after the deadline
    permits_expiring: int = 0
    escalated: int = 0
    stars: dict = field(default_factory=dict)  # {0..5: properties}

    COUNTS = ("residents", "unconfirmed", "overdue", "due_soon", "properties", "waiting", "waiting_old", "reports",
              "late", "permits_expiring", "escalated")

    @property
    def late_share(self) -> int | None:
        """Percentage of owners' reports in the period that came after the deadline."""
        return round(100 * self.late / self.reports) if self.reports else None

    def figure(self, name: str) -> int:
        """One figure by the name its link has (``stars_4``: properties with four stars now)."""
        if name.startswith("stars_"):
            return self.stars.get(int(name.removeprefix("stars_")), 0)
        return getattr(self, name)

    def add(self, other: "StationFigures") -> None:
        for name in self.COUNTS:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        for stars, count in other.stars.items():
            self.stars[stars] = self.stars.get(stars, 0) + count


def station_figures(station_ids, *, today: datetime.date | None = None,
                    period: Period | None = None) -> dict[int, StationFigures]:
    """Figures for each station in ``station_ids``, in a fixed number of grouped queries. The owners' reports
    are those made (``reported_on``) in ``period``; everything else is as of ``today``."""
    today = today or timezone.localdate()
    period = period or Period.default(today)
    rules = settings.REGISTRY
    ids = list(station_ids)
    figures = {pk: StationFigures(station_id=pk) for pk in ids}
    soon = today + datetime.timedelta(days=7)
    for row in (Tally.objects.filter(station_id__in=ids, kind="current").values("station_id")
                .annotate(residents=Sum("n"), unconfirmed=Sum("n", filter=Q(label="unconfirmed")),
                          overdue=Sum("n", filter=Q(day__lt=today)),
                          due_soon=Sum("n", filter=Q(day__gte=today, day__lte=soon)))
                .order_by()):
        stats = figures[row["station_id"]]
        stats.residents, stats.unconfirmed = row["residents"] or 0, row["unconfirmed"] or 0
        stats.overdue, stats.due_soon = row["overdue"] or 0, row["due_soon"] or 0
    for row in (Tally.objects.filter(station_id__in=ids, kind="reported", day__gte=period.since, day__lte=period.until)
                .values("station_id").annotate(reports=Sum("n"), late=Sum("n", filter=Q(label="late"))).order_by()):
        stats = figures[row["station_id"]]
        stats.reports, stats.late = row["reports"] or 0, row["late"] or 0
    # The instant ``Submission.objects.submitted_before(waiting_cutoff(today))`` compares with.
    cutoff = timezone.make_aware(datetime.datetime.combine(waiting_cutoff(today), datetime.time.min))
    for row in (Submission.objects.filter(station_id__in=ids, status="waiting").values("station_id")
                .annotate(waiting=Count("id"), waiting_old=Count("id", filter=Q(created_at__lt=cutoff))).order_by()):
        stats = figures[row["station_id"]]
        stats.waiting, stats.waiting_old = row["waiting"], row["waiting_old"]
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
    for station_id, kind, label, count in (Tally.objects.filter(station_id__in=ids, kind__in=("properties", "stars"))
                                           .values("station_id", "kind", "label").annotate(n=Sum("n")).order_by()
                                           .values_list("station_id", "kind", "label", "n")):
        if kind == "properties":
            figures[station_id].properties = count
        else:
            rated[station_id][int(label)] = count
    for station_id, stats in figures.items():
        counts = rated.get(station_id, {})
        unrated = stats.properties - sum(counts.values()) + counts.get(0, 0)
        stats.stars = {stars: counts.get(stars, 0) for stars in range(5, 0, -1)} | {0: max(unrated, 0)}
    return figures


def moves_by_month(station_ids, *, period: Period) -> list[dict]:
    """Arrivals (moved in) and departures (moved out) in the period, by month (oldest first), all stations
    summed; the first and last months count only their days inside the period. One grouped read of the kept
    figures (``workspace/tallies.py``)."""
    counted = {"moved_in": {}, "moved_out": {}}
    for kind, month, count in (Tally.objects.filter(station_id__in=station_ids, kind__in=counted,
                                                    day__gte=period.since, day__lte=period.until)
                               .annotate(month=TruncMonth("day")).values("kind", "month").annotate(n=Sum("n"))
                               .order_by().values_list("kind", "month", "n")):
        counted[kind][month] = count
    return [{"month": month, "first": period.clip(month)[0], "last": period.clip(month)[1],
             "arrivals": _by_month(counted["moved_in"], month), "departures": _by_month(counted["moved_out"], month)}
            for month in period.months()]


NOT_RECORDED = "none"  # departures whose reason nobody asked (an owner's report, a visit, older ones)


def departures_by_reason(station_ids, *, period: Period) -> dict[str, int]:
    """Registrations ended (moved out) in the period, all stations summed, by reason: every reason, then
    ``NOT_RECORDED``, zeros included. The kept figures of ended registrations are labelled ``ended:<reason>``."""
    ended = f"{ResidenceStatusChoices.ENDED}:"
    counted = dict(Tally.objects.filter(station_id__in=station_ids, kind="moved_out", label__startswith=ended,
                                        day__gte=period.since, day__lte=period.until)
                   .values("label").annotate(n=Sum("n")).order_by().values_list("label", "n"))
    counted = {label.removeprefix(ended): count for label, count in counted.items()}
    return {**{reason: counted.get(reason, 0) for reason in ResidenceEndReasonChoices.values},
            NOT_RECORDED: counted.get("", 0)}


def _by_month(counts: dict, month: datetime.date) -> int:
    # TruncMonth gives dates on PostgreSQL and SQLite alike for a DateField.
    return counts.get(month, 0)


def overdue_by_month(station_ids, *, period: Period, today: datetime.date) -> list[dict]:
    """Properties with a verification overdue at the end of each month of the period (oldest first).

    A residence's ``next_verification_due`` is overwritten by each verification, so how many *residents* were
    overdue on a past day cannot be told. The verification requests keep it per property: the nightly sweep
    opens one at a property the day a resident there falls due (``due_since``: the earliest due date), and a
    visit or the owner's confirmation closes it (``closed_on``); requests are never deleted. So a property was
    overdue at the start of day D if one of its requests fell due before D and was not closed before D. D is
    the first day after each month (the day after the period's last day, or today, for the last month). One
    query, one conditional count per month.
    """
    months = period.months()
    days = [min(_month_start(month, back=-1), period.until + datetime.timedelta(days=1), today) for month in months]
    if not days:
        return []
    counts = VerificationRequest.objects.filter(
        Q(closed_on__isnull=True) | Q(closed_on__gte=min(days)),
        property__station_id__in=station_ids, due_since__lt=max(days),
    ).aggregate(**{f"m{index}": Count("id", filter=Q(due_since__lt=day) & (Q(closed_on__isnull=True)
                                                                             | Q(closed_on__gte=day)))
                   for index, day in enumerate(days)})
    return [{"month": month, "on": day, "overdue": counts[f"m{index}"] or 0}
            for index, (month, day) in enumerate(zip(months, days, strict=True))]


@dataclass
class Dashboard:
    """One dashboard page's figures: per station, the monthly moves of them all, and when they were counted."""

    figures: dict[int, StationFigures]
    months: list[dict]
    overdue_months: list[dict]
    counted_at: datetime.datetime
    departures: dict = field(default_factory=dict)  # moved out in the period, by reason
    cached: bool = False


def _cache_key(station_ids: list[int], today: datetime.date, period: Period) -> str:
    digest = hashlib.sha256(",".join(map(str, sorted(station_ids))).encode()).hexdigest()[:32]
    return f"dashboard:v3:{today.isoformat()}:{period.since.isoformat()}:{period.until.isoformat()}:{digest}"


def dashboard(station_ids, *, today: datetime.date | None = None, period: Period | None = None,
              fresh: bool = False) -> Dashboard:
    """The figures for these stations, from the cache if counted less than DASHBOARD_CACHE_SECONDS ago.

    ``fresh`` counts again (and replaces the cached copy). The key holds the day, so figures that
    depend on "today" never outlive it, the period, and the sorted station ids, so a station's page and a
    district page never share figures.
    """
    today = today or timezone.localdate()
    period = period or Period.default(today)
    ids = sorted(set(station_ids))
    seconds = settings.REGISTRY["DASHBOARD_CACHE_SECONDS"]
    key = _cache_key(ids, today, period)
    if seconds > 0 and not fresh:
        found = cache.get(key)
        if found is not None:
            found.cached = True
            return found
    result = Dashboard(figures=station_figures(ids, today=today, period=period),
                       months=moves_by_month(ids, period=period),
                       overdue_months=overdue_by_month(ids, period=period, today=today), counted_at=timezone.now(),
                       departures=departures_by_reason(ids, period=period))
    if seconds > 0:
        cache.set(key, result, seconds)
    return result


def staff_workload(station_ids, since: datetime.date, until: datetime.date) -> list[dict]:
    """Each station user's work in the period (issue 16, point 4), five grouped queries whatever the number of
    users; users with no work in the period are listed too, with zeros.

    - registrations: residences they created (at the desk or by import), by ``created_at``;
    - moves: registrations they ended, a move-out or a move to another address (which ends the old one):
      the audit trail's updates of a residence that set its status to "ended", by its actor and time. That
      covers the desk's "moved out", a visit that found the person gone, and an owner's departure report the
      user approved (also counted under reviews);
    - visits: household visits they made (``visited_on``);
    - reviews: owners' reports they approved or rejected (``decided_at``);
    - inspections: fire and safety inspections they made (``inspected_on``).
    """
    ids = list(station_ids)
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(since, datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(until + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    users = list(get_user_model().objects.filter(profile__station_id__in=ids, profile__role__in=("staff", "officer"),
                                                 is_active=True)
                 .order_by("profile__station__code", "username").values("pk", "username", "profile__station__name"))
    user_ids = [u["pk"] for u in users]
    counts = defaultdict(dict)
    for name, rows in [
        ("registrations", Residence.objects.filter(created_by__in=user_ids, created_at__gte=start,
                                                   created_at__lt=end).values_list("created_by").annotate(n=Count("pk"))),
        ("moves", AuditEvent.objects.filter(actor_id__in=user_ids, at__gte=start, at__lt=end,
                                            action=AuditAction.UPDATE, object_type="housing.residence",
                                            changes__status__1="ended")
         .values_list("actor_id").annotate(n=Count("pk"))),
        ("visits", Visit.objects.filter(visited_by__in=user_ids, visited_on__gte=since,
                                        visited_on__lte=until).values_list("visited_by").annotate(n=Count("pk"))),
        ("reviews", Submission.objects.filter(decided_by__in=user_ids, decided_at__gte=start,
                                              decided_at__lt=end).values_list("decided_by").annotate(n=Count("pk"))),
        ("inspections", Inspection.objects.filter(inspector__in=user_ids, inspected_on__gte=since,
                                                  inspected_on__lte=until).values_list("inspector")
         .annotate(n=Count("pk"))),
    ]:
        for user_id, n in rows.order_by():
            counts[user_id][name] = n
    return [{"user_id": u["pk"], "username": u["username"], "station": u["profile__station__name"],
             **{kind: counts[u["pk"]].get(kind, 0) for kind in WORKLOAD_KINDS}} for u in users]


WORKLOAD_KINDS = ("registrations", "moves", "visits", "reviews", "inspections")
