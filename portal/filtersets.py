import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from housing.models import Property
from registry.filtersets import RegistryFilterSet, choices_in_scope
from registry.models import Station

from .models import Submission, SubmissionKindChoices, SubmissionStatusChoices

ANY_STATUS = "any"  # the review queue shows the waiting reports unless a status is chosen


class SubmissionFilterSet(RegistryFilterSet):
    """Filters of the review queue and the submissions API."""

    kind = django_filters.ChoiceFilter(label=_("Report"), choices=SubmissionKindChoices.choices, empty_label=_("Any"))
    status = django_filters.ChoiceFilter(label=_("Status"), method="filter_status",
                                         choices=[*SubmissionStatusChoices.choices, (ANY_STATUS, _("Any status"))],
                                         empty_label=_("Waiting for review"))
    is_late = django_filters.ChoiceFilter(label=_("Deadline"), empty_label=_("Any"),
                                          choices=[("true", _("Reported late")), ("false", _("On time"))],
                                          method="filter_late")

    submitted_before = django_filters.DateFilter(
        label=_("Submitted before"), method="filter_submitted_before",
        widget=forms.DateInput(attrs={"type": "date"}))
    # The dashboards' reports figures link here with these: the station, and the period the reports were made in.
    station = django_filters.ModelChoiceFilter(label=_("Station"), queryset=choices_in_scope(Station))
    # A property's reports (the choices are the caller's properties: another's is refused).
    property = django_filters.ModelChoiceFilter(label=_("Property"),
                                                queryset=choices_in_scope(Property.objects.order_by("address")))
    reported_from = django_filters.DateFilter(label=_("Reported from"), field_name="reported_on", lookup_expr="gte",
                                              widget=forms.DateInput(attrs={"type": "date"}))
    reported_until = django_filters.DateFilter(label=_("Reported until"), field_name="reported_on",
                                               lookup_expr="lte", widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-control" if isinstance(field.widget, forms.DateInput) else "form-select"

    def filter_status(self, queryset, name, value):
        return queryset if value == ANY_STATUS else queryset.filter(status=value)

    def filter_late(self, queryset, name, value):
        return queryset.filter(is_late=value == "true")

    def filter_submitted_before(self, queryset, name, value):
        return queryset.submitted_before(value)

    class Meta:
        model = Submission
        fields = ["kind", "status", "is_late", "submitted_before", "station", "reported_from", "reported_until",
                  "property"]
