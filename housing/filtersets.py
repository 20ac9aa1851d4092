"""Filters for the housing lists; the HTML pages and the API share them.

Choices that depend on who is asking (communities, landlords, employers) come from ``self.request``'s
scope, so a filter can neither list nor accept a record outside it.
"""

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from persons.models import Employer, Person
from persons.selectors import classify, person_search
from registry.filtersets import RegistryFilterSet, choices_in_scope
from registry.models import Community, Station

from .extensions import open_verification, rated_with
from .models import (
    CURRENT_RESIDENCE_STATUSES,
    Landlord,
    Property,
    PropertyTypeChoices,
    Residence,
    ResidenceEndReasonChoices,
    ResidenceStatusChoices,
    Unit,
)
from .selectors import units_with_occupancy


class PropertyFilterSet(RegistryFilterSet):
    """Find properties by address, registration number or owner; narrow by type, community, occupancy."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    property_type = django_filters.ChoiceFilter(choices=PropertyTypeChoices.choices, label=_("Type"))
    community = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Community.objects.order_by("name")),
                                                 label=_("Community"))
    landlord = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Landlord), label=_("Landlord"))
    employer = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Employer), label=_("Employer"))
    over_capacity = django_filters.BooleanFilter(method="filter_over_capacity",
                                                 label=_("Over capacity"))
    verification = django_filters.ChoiceFilter(
        choices=(("open", _("Verification due")), ("escalated", _("Verification overdue, supervisor told"))),
        method="filter_verification", label=_("Verification"))
    # The dashboards' properties figures link here with these: the station, and the current star rating.
    station = django_filters.ModelChoiceFilter(label=_("Station"), queryset=choices_in_scope(Station))
    stars = django_filters.ChoiceFilter(
        label=_("Compliance rating"), method="filter_stars",
        choices=[(str(n), "★" * n) for n in range(5, 0, -1)] + [("0", _("not yet rated"))])
    ordering = django_filters.OrderingFilter(
        fields=(("address", "address"), ("registration_number", "registration_number"),
                ("property_type", "type"), ("community__name", "community"), ("created_at", "created")),
        field_labels={"address": _("Address"), "registration_number": _("Registration number"),
                      "property_type": _("Type"), "community__name": _("Community"), "created_at": _("Added")},
    )

    class Meta:
        model = Property
        fields = ["property_type", "community", "landlord", "employer"]

    def filter_q(self, queryset, name, value):
        text = value.strip()[:100]
        if not text:
            return queryset
        condition = (Q(address__icontains=text) | Q(registration_number__istartswith=text)
                     | Q(landlord__name__startswith=text) | Q(employer__name__icontains=text))
        query = classify(text)
        if query.kind == "pinyin":
            condition |= Q(landlord__name_pinyin__startswith=query.text) | Q(
                landlord__name_initials__startswith=query.text)
        return queryset.filter(condition)

    def filter_over_capacity(self, queryset, name, value):
        if value is None:
            return queryset
        crowded = units_with_occupancy(Unit.objects.filter(property=OuterRef("pk"))).filter(
            occupants__gt=F("capacity"))
        return queryset.filter(Exists(crowded)) if value else queryset.exclude(Exists(crowded))

    def filter_verification(self, queryset, name, value):
        condition = open_verification(escalated=value == "escalated")
        return queryset.none() if condition is None else queryset.filter(condition)

    def filter_stars(self, queryset, name, value):
        stars = int(value)
        condition = rated_with(stars)
        if condition is None:
            return queryset if stars == 0 else queryset.none()
        return queryset.filter(condition)


class UnitFilterSet(RegistryFilterSet):
    """Units by property and label."""

    property = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Property), label=_("Property"))
    label = django_filters.CharFilter(lookup_expr="icontains", label=_("Unit"))
    ordering = django_filters.OrderingFilter(
        fields=(("label", "label"), ("capacity", "capacity"), ("created_at", "created")),
        field_labels={"label": _("Unit"), "capacity": _("Capacity"), "created_at": _("Added")},
    )

    class Meta:
        model = Unit
        fields = ["property"]


class LandlordFilterSet(RegistryFilterSet):
    """Landlords by name (characters, pinyin, initials), phone, or document number (exact or its visible parts)."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    ordering = django_filters.OrderingFilter(
        fields=(("name_pinyin", "name"), ("created_at", "created")),
        field_labels={"name_pinyin": _("Name"), "created_at": _("Added")},
    )

    class Meta:
        model = Landlord
        fields = ["document_type"]

    def filter_q(self, queryset, name, value):
        # Landlords carry the same identity and name columns as persons, so the forgiving person
        # search applies to them unchanged: one copy of the matching rules.
        return person_search(queryset, value[:50])


NOT_RECORDED = "none"  # the end_reason filter's value for departures whose reason nobody asked


def _end_reason_filter():
    return django_filters.ChoiceFilter(
        label=_("Reason for moving out"), method="filter_end_reason",
        choices=[*ResidenceEndReasonChoices.choices, (NOT_RECORDED, _("Not recorded"))])


class EndReasonFilterMixin:
    def filter_end_reason(self, queryset, name, value):
        if value == NOT_RECORDED:
            return queryset.filter(status=ResidenceStatusChoices.ENDED, end_reason="")
        return queryset.filter(end_reason=value)


class ResidenceFilterSet(EndReasonFilterMixin, RegistryFilterSet):
    """Residences by person, unit, property, status and verification due date."""

    person = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Person))
    unit = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Unit))
    property = django_filters.ModelChoiceFilter(field_name="unit__property", queryset=choices_in_scope(Property))
    due_before = django_filters.DateFilter(field_name="next_verification_due", lookup_expr="lte")
    end_reason = _end_reason_filter()
    ordering = django_filters.OrderingFilter(fields=(("start_date", "start_date"),
                                                     ("next_verification_due", "due")))

    class Meta:
        model = Residence
        fields = ["person", "unit", "status", "source"]


class ResidenceListFilterSet(EndReasonFilterMixin, RegistryFilterSet):
    """The residences page, which every residents figure of the dashboards links to with the same filter:
    the station, current or one status, a window of the next verification's due date, and of the move-in or
    move-out date (a month's arrivals and departures)."""

    station = django_filters.ModelChoiceFilter(label=_("Station"), queryset=choices_in_scope(Station))
    current = django_filters.BooleanFilter(label=_("Current only"), method="filter_current")
    status = django_filters.ChoiceFilter(label=_("Status"), choices=ResidenceStatusChoices.choices)
    due_from = django_filters.DateFilter(label=_("Verification due from"), field_name="next_verification_due",
                                         lookup_expr="gte")
    due_until = django_filters.DateFilter(label=_("Verification due until"), field_name="next_verification_due",
                                          lookup_expr="lte")
    # The dashboards' arrivals and departures of a month link here with these.
    moved_in_from = django_filters.DateFilter(label=_("Moved in from"), field_name="start_date", lookup_expr="gte")
    moved_in_until = django_filters.DateFilter(label=_("Moved in until"), field_name="start_date", lookup_expr="lte")
    moved_out_from = django_filters.DateFilter(label=_("Moved out from"), field_name="end_date", lookup_expr="gte")
    moved_out_until = django_filters.DateFilter(label=_("Moved out until"), field_name="end_date", lookup_expr="lte")
    # ... and their departures by reason.
    end_reason = _end_reason_filter()
    ordering = django_filters.OrderingFilter(fields=(("next_verification_due", "due"), ("start_date", "start")),
                                             field_labels={"next_verification_due": _("Verification due"),
                                                           "start_date": _("Moved in")})

    class Meta:
        model = Residence
        fields = ["station", "current", "status", "due_from", "due_until", "moved_in_from", "moved_in_until",
                  "moved_out_from", "moved_out_until", "end_reason"]

    def filter_current(self, queryset, name, value):
        return queryset.filter(status__in=CURRENT_RESIDENCE_STATUSES) if value else queryset
