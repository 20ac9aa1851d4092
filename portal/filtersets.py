import django_filters
from django.utils.translation import gettext_lazy as _

from .models import Submission, SubmissionKindChoices, SubmissionStatusChoices


class SubmissionFilterSet(django_filters.FilterSet):
    """Filters of the review queue and the submissions API."""

    kind = django_filters.ChoiceFilter(label=_("Report"), choices=SubmissionKindChoices.choices)
    status = django_filters.ChoiceFilter(label=_("Status"), choices=SubmissionStatusChoices.choices,
                                         empty_label=_("Waiting for review"))
    is_late = django_filters.BooleanFilter(label=_("Reported late"))

    class Meta:
        model = Submission
        fields = ["kind", "status", "is_late"]
