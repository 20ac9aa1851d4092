import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from registry.filtersets import RegistryFilterSet, choices_in_scope

from .models import Employer, Employment, Person
from .selectors import person_search


class PersonFilterSet(RegistryFilterSet):
    """Filters for the person list page and the persons API alike."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    # Only orders an index can walk within a station's scope: sorting a station's tens of thousands of
    # persons by date of birth for every page took 0.4 s at a million persons (docs/performance.md).
    # Registration order is the primary key's.
    ordering = django_filters.OrderingFilter(
        fields=(("name_pinyin", "name"), ("id", "created")),
        field_labels={"name_pinyin": _("Name"), "id": _("Added")},
    )

    class Meta:
        model = Person
        fields = ["sex", "document_type"]

    def filter_q(self, queryset, name, value):
        return person_search(queryset, value[:50])


class EmployerFilterSet(RegistryFilterSet):
    """Employers by name, unified social credit code or contact phone; shared with the API."""

    q = django_filters.CharFilter(method="filter_employer_q", label=_("Search"))
    ordering = django_filters.OrderingFilter(
        fields=(("name", "name"), ("created_at", "created")),
        field_labels={"name": _("Name"), "created_at": _("Added")},
    )

    class Meta:
        model = Employer
        fields = []

    def filter_employer_q(self, queryset, name, value):
        text = value.strip()[:100]
        if not text:
            return queryset
        return queryset.filter(Q(name__icontains=text) | Q(uscc__istartswith=text)
                               | Q(contact_name__startswith=text) | Q(contact_phone__endswith=text))


class EmploymentFilterSet(RegistryFilterSet):
    """Employments by person and employer, with choices only within the caller's scope."""

    person = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Person))
    employer = django_filters.ModelChoiceFilter(queryset=choices_in_scope(Employer))

    class Meta:
        model = Employment
        fields = ["person", "employer"]
