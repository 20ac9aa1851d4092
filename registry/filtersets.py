"""The base of every FilterSet: labels that follow the reader's language.

django-filter computes an automatic filter's label (from the model field's verbose name) on first
access and keeps it as a plain string, in whatever language was active then: the first reader, or
the OpenAPI schema generator, fixed it for everyone after. Here each automatic label is a lazy
string instead, computed anew in the language of each request.

In the API (and for a side query, ``checks_only``) the filter form holds only the filters the query names
(``RegistryFilterSet.get_form_class``).

A yes/no filter takes ``true`` or ``false`` only: django-filter's reads anything else (``-1``, ``yes``)
as "not given" and lists everything, so a caller's typo looked like an answer. Here it is a field error,
a 400 naming the parameter in the API; the HTML lists, whose selects send only these, are unchanged.
"""

import django_filters
from django import forms
from django.utils.functional import lazy
from django.utils.translation import gettext_lazy as _
from django_filters.filterset import FilterSetMetaclass
from django_filters.utils import label_for_filter

from .scoping import scoped_choices

_BOOLEANS = {"true": True, "false": False, "True": True, "False": False}
_NOT_GIVEN = ("", "unknown")


class StrictNullBooleanSelect(forms.NullBooleanSelect):
    """Like Django's, but hands a value it does not know on to the field, which refuses it."""

    def value_from_datadict(self, data, files, name):
        value = data.get(name)
        if value is None or value in _NOT_GIVEN or isinstance(value, bool):
            return None if value in _NOT_GIVEN else value
        return _BOOLEANS.get(value, value)


class StrictNullBooleanField(forms.NullBooleanField):
    widget = StrictNullBooleanSelect
    default_error_messages = {"invalid": _("Yes or no: true or false.")}

    def to_python(self, value):
        if value is None or isinstance(value, bool):
            return value
        raise forms.ValidationError(self.error_messages["invalid"], code="invalid")

    def validate(self, value):
        pass


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
        for item in cls.base_filters.values():
            if isinstance(item, django_filters.BooleanFilter) and item.field_class is forms.NullBooleanField:
                item.field_class = StrictNullBooleanField
        return cls


class RegistryFilterSet(django_filters.FilterSet, metaclass=_LazyLabels):
    def __init__(self, *args, checks_only: bool = False, **kwargs):
        """``checks_only``: the caller reads ``qs`` and never shows the form (a page's side query)."""
        self.checks_only = checks_only
        super().__init__(*args, **kwargs)

    def get_form_class(self):
        """In the API the form only checks the query's parameters: it is built from the filters the query names.

        django-filter builds a field for every filter of the set on every request, and the form deep-copies
        them all: the persons' set made choice fields over the caller's communities and properties, each
        request, for queries that named neither (6% of the mixed load's web CPU built filter forms, py-spy at 5M).
        A filter the query does not name filters nothing (an empty value is skipped, ``Filter.filter`` and
        ``FilterMethod``) and no filter here is required, so the answer, and every field error, is the same.
        HTML pages and the browsable API render the form: they get every field, unless ``checks_only``.
        """
        renderer = getattr(self.request, "accepted_renderer", None)
        shown = not self.checks_only and (renderer is None or renderer.format == "api")
        if not self.is_bound or self.form_prefix or shown:
            return super().get_form_class()
        given = set(self.data)
        fields = {name: filter_.field for name, filter_ in self.filters.items()
                  if name in given or any(key.startswith(f"{name}_") for key in given)}  # range widgets: _min, _max
        return type(f"{type(self).__name__}Form", (self._meta.form,), fields)


def choices_in_scope(queryset_or_model):
    """A filter's ``queryset``: the rows the requesting user may pick (``scoped_choices``); none without a
    request, as when the OpenAPI schema is generated."""

    def choices(request):
        return scoped_choices(queryset_or_model, request.user if request else None)

    return choices
