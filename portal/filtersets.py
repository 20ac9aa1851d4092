import django_filters
from django import forms
from django.utils.translation import gettext_lazy as _

from registry.filtersets import RegistryFilterSet

from .models import Submission, SubmissionKindChoices, SubmissionStatusChoices


class SubmissionFilterSet(RegistryFilterSet):
    """Filters of the review queue and the submissions API."""

    kind = django_filters.ChoiceFilter(label=_("Report"), choices=SubmissionKindChoices.choices, empty_label=_("Any"))
    status = django_filters.ChoiceFilter(label=_("Status"), choices=SubmissionStatusChoices.choices,
                                         empty_label=_("Waiting for review"))
    is_late = django_filters.ChoiceFilter(label=_("Deadline"), empty_label=_("Any"),
                                          choices=[("true", _("Reported late")), ("false", _("On time"))],
                                          method="filter_late")

    submitted_before = django_filters.DateFilter(
        label=_("Submitted before"), method="filter_submitted_before",
        widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.form.fields.values():
            field.widget.attrs["class"] = "form-control" if isinstance(field.widget, forms.DateInput) else "form-select"

    def filter_late(self, queryset, name, value):
        return queryset.filter(is_late=value == "true")

    def filter_submitted_before(self, queryset, name, value):
        return queryset.submitted_before(value)

    class Meta:
        model = Submission
        fields = ["kind", "status", "is_late", "submitted_before"]
