"""The nightly rules that flag unusual access by staff (issue 16, point 3). Each is a few set-based queries over
one day of the audit trail, whatever the number of users; thresholds are ``REGISTRY["ACCESS_FLAGS"]``.

(a) ``many_persons``: distinct persons viewed in the day above ``factor`` times the user's own median over the
    30 days before (days they viewed anyone) and above ``floor``.
(b) ``no_work_link``: at least ``min_persons`` persons viewed or unmasked by a station user who had no work
    link to them: not registered at the user's station, no residence at it overlapping the last 30 days (which
    covers the station's registrations, imports, reviewed reports and household visits of them), no residence
    permit issued or endorsed for them by the station in those 30 days, and no registration, move or
    correction of theirs recorded by the user in those 30 days.
(c) ``unmaskings``: more unmaskings in the day than ``unmaskings``.
(d) ``after_hours``: at least ``after_hours_min`` reads, unmaskings or exports outside ``working_hours``.
(e) ``large_export``: an export of more rows than ``export_rows``.

Each flag keeps the figures that made it fire; the audit page shows the events behind it.
"""

import datetime
import statistics
from collections import defaultdict

from django.conf import settings
from django.db.models import BigIntegerField, CharField, Count, Exists, Max, OuterRef, Q, Subquery
from django.db.models.fields.json import KT
from django.db.models.functions import Cast, ExtractHour, TruncDate
from django.utils import timezone

from housing.models import Residence
from patrol.models import ResidencePermit
from persons.models import Person
from registry.models import AuditAction, AuditEvent, Profile

from .models import AccessFlag, RuleChoices

READS = (AuditAction.VIEW, AuditAction.UNMASK)
PERSON = "persons.person"
WORK = (AuditAction.CREATE, AuditAction.UPDATE)


def thresholds() -> dict:
    return settings.REGISTRY["ACCESS_FLAGS"]


def _bounds(day: datetime.date, days_before: int = 0) -> tuple[datetime.datetime, datetime.datetime]:
    zone = timezone.get_current_timezone()
    start = datetime.datetime.combine(day - datetime.timedelta(days=days_before), datetime.time.min, tzinfo=zone)
    end = datetime.datetime.combine(day + datetime.timedelta(days=1), datetime.time.min, tzinfo=zone)
    return start, end


def _day_events(day: datetime.date):
    start, end = _bounds(day)
    return AuditEvent.objects.filter(at__gte=start, at__lt=end, actor_id__isnull=False).order_by()


def many_persons(day: datetime.date) -> list[dict]:
    rules = thresholds()
    start, end = _bounds(day, days_before=30)
    daily = (AuditEvent.objects.filter(at__gte=start, at__lt=end, actor_id__isnull=False, action__in=READS,
                                       object_type=PERSON).order_by()
             .annotate(d=TruncDate("at", tzinfo=timezone.get_current_timezone()))
             .values("actor_id", "d").annotate(n=Count("object_id", distinct=True))
             .values_list("actor_id", "d", "n"))
    today, before = {}, defaultdict(list)
    for actor_id, d, n in daily:
        if d == day:
            today[actor_id] = n
        else:
            before[actor_id].append(n)
    found = []
    for actor_id, n in today.items():
        median = statistics.median(before[actor_id]) if before[actor_id] else 0
        if n > rules["floor"] and n > rules["factor"] * median:
            found.append({"actor_id": actor_id, "figures": {"persons": n, "median": median,
                                                            "factor": rules["factor"], "floor": rules["floor"]}})
    return found


def no_work_link(day: datetime.date) -> list[dict]:
    rules = thresholds()
    window_start, end = _bounds(day, days_before=rules["work_link_days"])
    window_day = day - datetime.timedelta(days=rules["work_link_days"])
    person_id = Cast(OuterRef("object_id"), BigIntegerField())
    station = OuterRef("station")
    own_work = AuditEvent.objects.filter(actor_id=OuterRef("actor_id"), action__in=WORK, at__gte=window_start,
                                         at__lt=end)
    # Work on one of the person's residences: their residences first (one or two, by the person index), then the
    # user's work on each by the audit trail's record index. Written the other way round (the user's residence
    # work, "object_id IN their residences"), PostgreSQL evaluated the residences once per pair of a read and a
    # work event: 141 s and 500 million buffer hits for one day at a million persons.
    residence_work = AuditEvent.objects.filter(actor_id=OuterRef(OuterRef("actor_id")), action__in=WORK,
                                               at__gte=window_start, at__lt=end, object_type="housing.residence",
                                               object_id=OuterRef("key"))
    worked_residences = (Residence.objects.filter(person_id=person_id).annotate(key=Cast("pk", CharField()))
                         .filter(Exists(residence_work)))
    reads = (_day_events(day).filter(action__in=READS, object_type=PERSON)
             .annotate(station=Subquery(Profile.objects.filter(user_id=OuterRef("actor_id")).values("station_id")[:1]))
             .filter(station__isnull=False)
             .exclude(Exists(Person.objects.filter(pk=person_id, registered_station_id=station)))
             .exclude(Exists(Residence.objects.filter(person_id=person_id, station_id=station, start_date__lte=day)
                             .filter(Q(end_date__isnull=True) | Q(end_date__gte=window_day))))
             .exclude(Exists(ResidencePermit.objects.filter(person_id=person_id, station_id=station)
                             .filter(Q(issued_on__gte=window_day) | Q(last_endorsed_on__gte=window_day))))
             .exclude(Exists(own_work.filter(object_type=PERSON, object_id=OuterRef("object_id"))))
             .exclude(Exists(worked_residences))
             .values("actor_id").annotate(n=Count("object_id", distinct=True))
             .filter(n__gte=rules["min_persons"]).values_list("actor_id", "n"))
    return [{"actor_id": actor_id, "figures": {"persons": n, "days": rules["work_link_days"]}}
            for actor_id, n in reads]


def unmaskings(day: datetime.date) -> list[dict]:
    limit = thresholds()["unmaskings"]
    counted = (_day_events(day).filter(action=AuditAction.UNMASK).values("actor_id").annotate(n=Count("pk"))
               .filter(n__gt=limit).values_list("actor_id", "n"))
    return [{"actor_id": actor_id, "figures": {"unmaskings": n, "limit": limit}} for actor_id, n in counted]


def after_hours(day: datetime.date) -> list[dict]:
    rules = thresholds()
    first, last = rules["working_hours"]
    counted = (_day_events(day).filter(action__in=(*READS, AuditAction.EXPORT))
               .annotate(hour=ExtractHour("at", tzinfo=timezone.get_current_timezone()))
               .filter(Q(hour__lt=first) | Q(hour__gte=last))
               .values("actor_id").annotate(n=Count("pk")).filter(n__gte=rules["after_hours_min"])
               .values_list("actor_id", "n"))
    return [{"actor_id": actor_id, "figures": {"events": n, "working_hours": f"{first:02d}:00–{last:02d}:00"}}
            for actor_id, n in counted]


def large_export(day: datetime.date) -> list[dict]:
    limit = thresholds()["export_rows"]
    counted = (_day_events(day).filter(action=AuditAction.EXPORT)
               .annotate(exported=Cast(KT("changes__rows"), BigIntegerField())).filter(exported__gt=limit)
               .values("actor_id").annotate(n=Count("pk"), rows=Max("exported"))
               .values_list("actor_id", "n", "rows"))
    return [{"actor_id": actor_id, "figures": {"exports": n, "largest": rows, "limit": limit}}
            for actor_id, n, rows in counted]


RULES = {
    RuleChoices.MANY_PERSONS: many_persons,
    RuleChoices.NO_WORK_LINK: no_work_link,
    RuleChoices.UNMASKINGS: unmaskings,
    RuleChoices.AFTER_HOURS: after_hours,
    RuleChoices.LARGE_EXPORT: large_export,
}


def flags_for(day: datetime.date) -> dict[str, int]:
    """Run every rule over ``day`` and write its flags (once: a rerun adds none). Returns new flags per rule."""
    found = {rule: finder(day) for rule, finder in RULES.items()}
    actors = {hit["actor_id"] for hits in found.values() for hit in hits}
    who = {row["user_id"]: row for row in Profile.objects.filter(user_id__in=actors)
           .values("user_id", "user__username", "station_id")}
    flags = [AccessFlag(actor_id=hit["actor_id"], actor_username=who.get(hit["actor_id"], {}).get("user__username", ""),
                        station_id=who.get(hit["actor_id"], {}).get("station_id"), rule=rule, day=day,
                        figures=hit["figures"])
             for rule, hits in found.items() for hit in hits]
    existing = set(AccessFlag.objects.filter(day=day).values_list("actor_id", "rule"))
    new = [flag for flag in flags if (flag.actor_id, flag.rule) not in existing]
    AccessFlag.objects.bulk_create(new, ignore_conflicts=True)
    counts = {str(rule): 0 for rule in RULES}
    for flag in new:
        counts[str(flag.rule)] += 1
    return counts
