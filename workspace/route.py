"""The day's visits planned by property (issue 17, point 6): the verifications due, grouped by community and
property, ordered by address, with the count at each property. One grouped query, whatever the number of
residents due; the home page shows the first properties, the route list all of them and prints."""

import datetime
from dataclasses import dataclass, field

from django.db.models import Count, Min, Q

from housing.models import CURRENT_RESIDENCE_STATUSES, Residence

DUE_SOON_DAYS = 7


@dataclass
class Stop:
    property_id: int
    address: str
    due: int
    overdue: int
    earliest: datetime.date


@dataclass
class CommunityRoute:
    name: str
    stops: list[Stop] = field(default_factory=list)

    @property
    def due(self) -> int:
        return sum(stop.due for stop in self.stops)


def due_by_property(user, *, today: datetime.date, until: datetime.date, station_id: int | None = None,
                    limit: int | None = None) -> tuple[list[CommunityRoute], int]:
    """The properties with residents whose verification is due by ``until`` (overdue ones included), grouped by
    community in name order, each community's properties by address; and how many properties there are in all
    (``limit`` cuts the list, not the count)."""
    due = Residence.objects.visible_to(user).filter(status__in=CURRENT_RESIDENCE_STATUSES,
                                                    next_verification_due__lte=until)
    if station_id is not None:
        due = due.filter(station_id=station_id)
    rows = (due.values("unit__property_id", "unit__property__address", "unit__property__community__name")
            .annotate(n=Count("pk"), overdue=Count("pk", filter=Q(next_verification_due__lt=today)),
                      earliest=Min("next_verification_due"))
            .order_by("unit__property__community__name", "unit__property__address", "unit__property_id"))
    rows = list(rows)
    total = len(rows)
    communities: list[CommunityRoute] = []
    for row in rows[:limit] if limit else rows:
        name = row["unit__property__community__name"]
        if not communities or communities[-1].name != name:
            communities.append(CommunityRoute(name=name))
        communities[-1].stops.append(Stop(property_id=row["unit__property_id"], address=row["unit__property__address"],
                                          due=row["n"], overdue=row["overdue"], earliest=row["earliest"]))
    return communities, total
