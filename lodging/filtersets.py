"""One FilterSet for stays, used by the station's ledger and the API."""

import django_filters
from django import forms
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from housing.models import LODGING_TYPES, Property
from persons.selectors import classify, document_condition
from registry.filtersets import RegistryFilterSet, choices_in_scope

from .models import Stay

STATUS_CHOICES = [("in", _("In now")), ("out", _("Checked out")), ("long", _("Staying long: register a residence"))]


def lodgings_in_scope(request):
    return choices_in_scope(Property.objects.filter(property_type__in=LODGING_TYPES))(request)


class StayFilterSet(RegistryFilterSet):
    q = django_filters.CharFilter(label=_("Guest"), method="filter_q",
                                  help_text=_("Document number or name"))
    property = django_filters.ModelChoiceFilter(label=_("Lodging"), queryset=lodgings_in_scope)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=STATUS_CHOICES, method="filter_status")
    day = django_filters.DateFilter(label=_("Guests on"), method="filter_day",
                                    widget=forms.DateInput(attrs={"type": "date"}))
    arrived_from = django_filters.DateFilter(label=_("Arrived from"), field_name="arrived_at__date",
                                             lookup_expr="gte", widget=forms.DateInput(attrs={"type": "date"}))
    arrived_until = django_filters.DateFilter(label=_("Arrived until"), field_name="arrived_at__date",
                                              lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"}))
    is_late = django_filters.BooleanFilter(label=_("Recorded late"))

    class Meta:
        model = Stay
        fields = ["q", "property", "status", "day", "arrived_from", "arrived_until", "is_late"]

    def filter_q(self, queryset, name, value):
        query = classify(value)
        if not query.text:
            return queryset
        if query.kind == "document":
            return queryset.filter(document_condition(Stay, query.text))
        if query.kind == "pinyin":
            return queryset.filter(Q(name_initials__startswith=query.text) | Q(name_pinyin__startswith=query.text))
        return queryset.filter(name__startswith=query.text)

    def filter_status(self, queryset, name, value):
        if value == "in":
            return queryset.staying()
        if value == "out":
            return queryset.filter(checked_out_at__isnull=False)
        return queryset.long()

    def filter_day(self, queryset, name, value):
        return queryset.on_day(value)
