"""Reads about housing that are more than a filter."""

import datetime

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.utils import timezone

from persons.extensions import Probe, read_first
from persons.models import Employer, Person
from registry.lookups import count_of
from registry.roles import RoleChoices
from registry.scoping import Scope

from .models import CURRENT_RESIDENCE_STATUSES as CURRENT
from .models import Landlord, Property, Residence, ResidenceStatusChoices, Unit

# Rows of a list shown on a detail page (a landlord's properties, a property's inspections and visits); the rest
# are a list away.
DETAIL_ROWS = 50


def units_with_occupancy(queryset: QuerySet[Unit]) -> QuerySet[Unit]:
    """Annotate each unit with ``occupants``: its current residents, counted in the database."""
    return queryset.annotate(occupants=Count("residences", filter=Q(residences__status__in=CURRENT)))


def unit_occupancy(unit: Unit) -> tuple[int, int]:
    """(current occupants, capacity) of one unit."""
    return Residence.objects.filter(unit=unit, status__in=CURRENT).count(), unit.capacity


def properties_with_totals(queryset: QuerySet[Property]) -> QuerySet[Property]:
    """Annotate properties with ``unit_count``, ``capacity_total``, ``occupant_count`` and ``crowded``
    (some unit houses more people than its capacity), all computed in the list's one query."""
    units = Unit.objects.filter(property=OuterRef("pk")).order_by().values("property")
    crowded = units_with_occupancy(Unit.objects.filter(property=OuterRef("pk"))).filter(occupants__gt=F("capacity"))
    return queryset.annotate(
        unit_count=count_of(Unit.objects.all(), "property"),
        capacity_total=Coalesce(Subquery(units.annotate(n=Sum("capacity")).values("n")), 0),
        occupant_count=count_of(Residence.objects.filter(status__in=CURRENT), "unit__property"),
        crowded=Exists(crowded),
    )


# --- what persons' pages and scope learn from housing (registered in HousingConfig.ready) ------------------

def landlord_scope(user) -> Scope | None:
    """A landlord's account sees their own properties and the people living there now."""
    landlord_id = Landlord.objects.filter(user=user).values_list("id", flat=True).first()
    return Scope(landlord_id=landlord_id, role=RoleChoices.LANDLORD.value,
                 owner_record=Landlord._meta.label_lower) if landlord_id else None


def persons_housed_in_scope(scope: Scope):
    """Persons a scope sees because of where they live: a station those who live or lived there (registered
    elsewhere: a residence at one's own station of registration adds nothing, and only the others carry the
    flag's index entries); an owner those who live at their properties now."""
    residences = Residence.objects.filter(person=OuterRef("pk"))
    if scope.station_ids is not None:
        return Q(Exists(residences.filter(station_id__in=scope.station_ids, registered_elsewhere=True)))
    current = residences.filter(status__in=CURRENT)
    if scope.landlord_id:
        return Q(Exists(current.filter(unit__property__landlord_id=scope.landlord_id)))
    if scope.employer_id:
        return Q(Exists(current.filter(unit__property__employer_id=scope.employer_id)))
    return None


def person_change_scope(person: Person) -> tuple:
    """A person's change-feed scope: filed under the station they live at now (else their station of
    registration), copied to every other station that can read them (registered there or lived there)."""
    current = Residence.objects.filter(person_id=person.pk, status__in=CURRENT).values_list(
        "station_id", flat=True).first()
    lived = Residence.objects.filter(person_id=person.pk).values_list("station_id", flat=True).distinct()
    return ((current or person.registered_station_id, None, None),
            {person.registered_station_id, *lived} - {None})


def person_residences(user, person: Person) -> dict:
    """The person page's residences, newest first, within the user's scope."""
    return {"residences": Residence.objects.visible_to(user).filter(person=person)
            .select_related("unit__property__community", "created_by", "moved_to__property")
            .order_by("-start_date", "-id")}


def employer_dormitories(user, employer: Employer) -> dict:
    """The employer page's dormitories with their units, capacity and occupants."""
    return {"dormitories": properties_with_totals(
        Property.objects.visible_to(user).filter(employer=employer).select_related("community")
    ).order_by("address", "id")}


def with_dormitory_count(queryset: QuerySet[Employer]) -> QuerySet[Employer]:
    return queryset.annotate(dormitory_count=count_of(Property.objects.all(), "employer"))


# --- the person list's filters on where a person lives (persons/extensions.py; registered in HousingConfig.ready) ---

DUE_SOON_DAYS = 7  # "due": within a week, as the dashboards' "due soon"


def person_lives(user, *, community=None, property=None, residence_status: str = "", verification: str = "",
                 arrived_from=None, arrived_until=None, today=None, plan: str = ""):
    """A condition on a person: one of their residences in ``user``'s scope matches everything chosen (see
    ``persons.extensions.person_lives``). Each is a column of the residence or its unit's property, reached
    from the person through the residence's person index; "ended" means none current in scope. ``plan``: how
    the caller reads the page ("probe", "first"; see there)."""
    in_scope = Residence.objects.visible_to(user)
    residences = in_scope
    if community is not None:
        residences = residences.filter(unit__property__community=community)
    if property is not None:
        residences = residences.filter(unit__property=property)
    if arrived_from:
        residences = residences.filter(start_date__gte=arrived_from)
    if arrived_until:
        residences = residences.filter(start_date__lte=arrived_until)
    if verification:
        today = today or timezone.localdate()
        residences = residences.filter(status__in=CURRENT)
        if verification == "overdue":
            residences = residences.filter(next_verification_due__lt=today)
        else:
            residences = residences.filter(next_verification_due__gte=today,
                                           next_verification_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
    if residence_status:
        residences = residences.filter(status=residence_status)
    exists = Probe if plan == "probe" else Exists
    # Read first: a few thousand residences of the station, from indexes led by the station (housing 0018);
    # not those living there now (most of the station), nor a community (read person by person, in order).
    selective = verification or arrived_from or arrived_until or residence_status in (
        ResidenceStatusChoices.ENDED, ResidenceStatusChoices.UNCONFIRMED)
    if plan == "first" and selective and community is None and property is None:
        condition = read_first(residences)
    else:
        condition = Q(exists(residences.filter(person=OuterRef("pk"))))
    if residence_status == ResidenceStatusChoices.ENDED:
        condition &= ~Q(exists(in_scope.filter(person=OuterRef("pk"), status__in=CURRENT)))
    return condition


def property_choices(request):
    """The properties the requesting user may pick in the person list's filter."""
    return Property.objects.visible_to(request.user).order_by("address", "pk")
