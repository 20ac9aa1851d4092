"""The base of every FilterSet: labels that follow the reader's language.

django-filter computes an automatic filter's label (from the model field's verbose name) on first
access and keeps it as a plain string, in whatever language was active then: the first reader, or
the OpenAPI schema generator, fixed it for everyone after. Here each automatic label is a lazy
string instead, computed anew in the language of each request.
"""

import django_filters
from django.utils.functional import lazy
from django_filters.filterset import FilterSetMetaclass
from django_filters.utils import label_for_filter

from .scoping import scoped_choices


class _LazyLabels(FilterSetMetaclass):
    """After django-filter has built ``base_filters``, give the automatic ones lazy labels."""

    def __new__(mcs, name, bases, attrs):
        cls = super().__new__(mcs, name, bases, attrs)
        model = cls._meta.model
        if model is not None:
            for item in cls.base_filters.values():
                if item._label is None and item.field_name:
                    item._label = lazy(label_for_filter, str)(model, item.field_name, item.lookup_expr,
                                                              item.exclude)
        return cls


class RegistryFilterSet(django_filters.FilterSet, metaclass=_LazyLabels):
    pass


def choices_in_scope(queryset_or_model):
    """A filter's ``queryset``: the rows the requesting user may pick (``scoped_choices``); none without a
    request, as when the OpenAPI schema is generated."""

    def choices(request):
        return scoped_choices(queryset_or_model, request.user if request else None)

    return choices
