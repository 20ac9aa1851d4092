"""Filters for the patrol lists; the HTML pages and the API share them."""

import datetime

import django_filters
from django.conf import settings
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from housing.models import Property
from registry.filtersets import RegistryFilterSet, choices_in_scope
from registry.models import Station

from .models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, VerificationRequestKind, Visit


def permit_expiry_window(today: datetime.date | None = None) -> tuple[datetime.date, datetime.date]:
    """(today, the last day counted as "expiring soon") — the reminder window of PRODUCT.md."""
    today = today or timezone.localdate()
    return today, today + datetime.timedelta(days=settings.REGISTRY["PERMIT_REMINDER_DAYS"])


class PermitStatusChoices:
    VALID = "valid"
    EXPIRING = "expiring"
    EXPIRED = "expired"
    choices = [(VALID, _("Valid")), (EXPIRING, _("Expiring soon")), (EXPIRED, _("Expired"))]


class ResidencePermitFilterSet(RegistryFilterSet):
    """Find permits by number or holder's name; narrow to valid, expiring soon or expired."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    status = django_filters.ChoiceFilter(choices=PermitStatusChoices.choices, method="filter_status",
                                         label=_("Status"), empty_label=_("Any"))
    # The station that issued it (the dashboards' per-station figures link here with it).
    station = django_filters.ModelChoiceFilter(label=_("Station"), queryset=choices_in_scope(Station))
    ordering = django_filters.OrderingFilter(
        fields=(("expires_on", "expires"), ("issued_on", "issued"), ("number", "number")),
        field_labels={"expires_on": _("Expires on"), "issued_on": _("Issued on"), "number": _("Permit number")},
    )

    class Meta:
        model = ResidencePermit
        fields = []

    def filter_q(self, queryset, name, value):
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(number__istartswith=text) | Q(person__name__startswith=text))

    def filter_status(self, queryset, name, value):
        today, soon = permit_expiry_window()
        if value == PermitStatusChoices.EXPIRED:
            return queryset.filter(expires_on__lt=today)
        if value == PermitStatusChoices.EXPIRING:
            return queryset.filter(expires_on__gte=today, expires_on__lte=soon)
        if value == PermitStatusChoices.VALID:
            return queryset.filter(expires_on__gte=today)
        return queryset


def _properties_in_scope(request):
    """Property choices within the caller's scope: an id outside it is answered like one that does not exist."""
    return Property.objects.visible_to(request.user) if request else Property.objects.none()


class VisitFilterSet(RegistryFilterSet):
    """Visits by property and date."""

    property = django_filters.ModelChoiceFilter(queryset=_properties_in_scope, label=_("Property"))
    visited_after = django_filters.DateFilter(field_name="visited_on", lookup_expr="gte",
                                              label=_("Visited on or after"))
    visited_before = django_filters.DateFilter(field_name="visited_on", lookup_expr="lte",
                                               label=_("Visited on or before"))

    class Meta:
        model = Visit
        fields = []


class InspectionFilterSet(RegistryFilterSet):
    """Inspections by property and result."""

    property = django_filters.ModelChoiceFilter(queryset=_properties_in_scope, label=_("Property"))
    passed = django_filters.BooleanFilter(label=_("Passed"))

    class Meta:
        model = Inspection
        fields = []


class PropertyRatingFilterSet(RegistryFilterSet):
    """Rating snapshots by property; ``current=true`` keeps each property's current one only."""

    property = django_filters.ModelChoiceFilter(queryset=_properties_in_scope, label=_("Property"))
    current = django_filters.BooleanFilter(field_name="is_current", label=_("Current rating only"))

    class Meta:
        model = PropertyRating
        fields = []


class VerificationRequestFilterSet(RegistryFilterSet):
    """Re-verification requests by property, who verifies, and whether they are still open."""

    property = django_filters.ModelChoiceFilter(queryset=_properties_in_scope, label=_("Property"))
    kind = django_filters.ChoiceFilter(choices=VerificationRequestKind.choices, label=_("Who verifies"))
    open = django_filters.BooleanFilter(field_name="closed_on", lookup_expr="isnull", label=_("Open only"))

    class Meta:
        model = VerificationRequest
        fields = []
