"""Reads about housing that are more than a filter."""

from django.db.models import Count, Q, QuerySet

from .models import Residence, Unit

CURRENT = ("active", "unconfirmed")


def units_with_occupancy(queryset: QuerySet[Unit]) -> QuerySet[Unit]:
    """Annotate each unit with ``occupants``: its current residents, counted in the database."""
    return queryset.annotate(occupants=Count("residences", filter=Q(residences__status__in=CURRENT)))


def unit_occupancy(unit: Unit) -> tuple[int, int]:
    """(current occupants, capacity) of one unit."""
    return Residence.objects.filter(unit=unit, status__in=CURRENT).count(), unit.capacity
