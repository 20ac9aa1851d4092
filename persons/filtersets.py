import django_filters
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from .models import Person
from .validators import normalize_document_number


class PersonFilterSet(django_filters.FilterSet):
    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    ordering = django_filters.OrderingFilter(
        fields=(("name_pinyin", "name"), ("birth_date", "birth_date"), ("created_at", "created")),
        field_labels={"name_pinyin": _("Name"), "birth_date": _("Date of birth"), "created_at": _("Created")},
    )

    class Meta:
        model = Person
        fields = ["sex", "document_type"]

    def filter_q(self, queryset, name, value):
        value = value.strip()
        if not value:
            return queryset
        number = normalize_document_number(value)
        condition = Q(name__startswith=value) | Q(name_initials__startswith=value.lower()) | Q(
            name_pinyin__startswith=value.lower().replace(" ", "")
        )
        if len(number) >= 15:
            condition |= Q(document_hash__in=[
                Person.document_key(t, number) for t, _label in Person._meta.get_field("document_type").choices
            ])
        if value.replace("-", "").isdigit() and len(value) >= 4:
            condition |= Q(phone__endswith=value)
        return queryset.filter(condition)
