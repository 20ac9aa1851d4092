"""Filters for the housing lists; the HTML pages and (later) the API share them.

Choices that depend on who is asking (communities, landlords, employers) come from ``self.request``'s
scope, so a filter can neither list nor accept a record outside it.
"""

import django_filters
from django.db.models import Exists, F, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from persons.models import Employer
from persons.selectors import classify, person_search
from registry.filtersets import RegistryFilterSet
from registry.models import Community
from registry.scoping import scope_for

from .models import Landlord, Property, PropertyTypeChoices, Unit
from .selectors import units_with_occupancy


def communities_in_scope(user):
    """Communities of the stations the user works for (all of them for administrators)."""
    if user is None:
        return Community.objects.none()
    scope = scope_for(user)
    if scope.is_global:
        return Community.objects.order_by("name")
    return Community.objects.filter(station_id__in=scope.station_ids or ()).order_by("name")


def _communities(request):
    return communities_in_scope(request.user if request else None)


def _landlords(request):
    return Landlord.objects.visible_to(request.user) if request else Landlord.objects.none()


def _employers(request):
    return Employer.objects.visible_to(request.user) if request else Employer.objects.none()


def _properties(request):
    return Property.objects.visible_to(request.user) if request else Property.objects.none()


class PropertyFilterSet(RegistryFilterSet):
    """Find properties by address, registration number or owner; narrow by type, community, occupancy."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    property_type = django_filters.ChoiceFilter(choices=PropertyTypeChoices.choices, label=_("Type"))
    community = django_filters.ModelChoiceFilter(queryset=_communities, label=_("Community"))
    landlord = django_filters.ModelChoiceFilter(queryset=_landlords, label=_("Landlord"))
    employer = django_filters.ModelChoiceFilter(queryset=_employers, label=_("Employer"))
    over_capacity = django_filters.BooleanFilter(method="filter_over_capacity",
                                                 label=_("Over capacity"))
    verification = django_filters.ChoiceFilter(
        choices=(("open", _("Verification due")), ("escalated", _("Verification overdue, supervisor told"))),
        method="filter_verification", label=_("Verification"))
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
        from patrol.models import VerificationRequest

        requests = VerificationRequest.objects.filter(property=OuterRef("pk"), closed_on__isnull=True)
        if value == "escalated":
            requests = requests.filter(escalated_on__isnull=False)
        return queryset.filter(Exists(requests))


class UnitFilterSet(RegistryFilterSet):
    """Units by property and label."""

    property = django_filters.ModelChoiceFilter(queryset=_properties, label=_("Property"))
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
