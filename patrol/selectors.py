"""Reads for patrol work that are more than a filter."""

import datetime

from django.db.models import Case, CharField, IntegerField, QuerySet, Value, When

from housing.models import Property, Residence

from .services import CURRENT


def visit_residences(user, prop: Property) -> QuerySet[Residence]:
    """The residents a visit to ``prop`` answers for: its current residences within the visitor's scope,
    by unit. The visit page asks about each; the API wants an answer for each."""
    return (Residence.objects.visible_to(user)
            .filter(unit__property=prop, status__in=CURRENT)
            .select_related("person", "unit")
            .order_by("unit__label", "start_date", "id"))


def with_expiry_state(queryset, today: datetime.date, soon: datetime.date):
    """Annotate ``expiry_state`` (expiring / valid / expired) and sort the ones needing action first."""
    return queryset.annotate(
        expiry_state=Case(When(expires_on__lt=today, then=Value("expired")),
                          When(expires_on__lte=soon, then=Value("expiring")),
                          default=Value("valid"), output_field=CharField()),
        expiry_rank=Case(When(expires_on__lt=today, then=Value(2)), When(expires_on__lte=soon, then=Value(0)),
                         default=Value(1), output_field=IntegerField()),
    ).order_by("expiry_rank", "expires_on", "id")
