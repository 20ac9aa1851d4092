import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Person
from .selectors import person_search


class PersonFilterSet(django_filters.FilterSet):
    """Filters for the person list page and the persons API alike."""

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    ordering = django_filters.OrderingFilter(
        fields=(("name_pinyin", "name"), ("birth_date", "birth_date"), ("created_at", "created")),
        field_labels={"name_pinyin": _("Name"), "birth_date": _("Date of birth"), "created_at": _("Created")},
    )

    class Meta:
        model = Person
        fields = ["sex", "document_type"]

    def filter_q(self, queryset, name, value):
        return person_search(queryset, value[:50])
