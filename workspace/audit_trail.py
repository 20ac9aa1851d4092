"""The audit trail as supervisors read it (issue 16, point 1): filters, the user's scope, a cursor.

Supervisors see the events of their district's stations, administrators every event
(``AuditEvent.objects.visible_to``). Filters: the user who acted, the station, the action, the record type,
one person (by id: the person must be in the reader's scope, or the filter finds nothing) and a date range.
Newest first, by a keyset cursor on (time, id): a page costs the same at the start and deep in the trail.
"""

import base64
import datetime

import django_filters
from django import forms
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field

from persons.models import Person
from registry.filtersets import RegistryFilterSet, choices_in_scope
from registry.forms import BootstrapFormMixin
from registry.models import AuditAction, AuditEvent, Station
from registry.scoping import scope_for

PAGE_SIZE = 50
RECORD_TYPES = [
    ("persons.person", _("Person")), ("housing.residence", _("Residence")), ("housing.property", _("Property")),
    ("housing.landlord", _("Landlord")), ("persons.employer", _("Employer")), ("portal.submission", _("Report")),
    ("patrol.residencepermit", _("Residence permit")), ("patrol.visit", _("Visit")),
    ("patrol.inspection", _("Inspection")), ("persons.employment", _("Employment")), ("housing.unit", _("Unit")),
    ("registry.auditevent", _("Audit trail")), ("auth.user", _("User")),
]


def users_in_scope(user):
    """The accounts whose events ``user`` may read: a supervisor's district's station accounts; all for admins."""
    scope = scope_for(user)
    users = get_user_model().objects.order_by("username")
    if scope.is_global:
        return users
    if scope.station_ids:
        return users.filter(profile__station_id__in=scope.station_ids)
    return users.none()


def _users(request):
    return users_in_scope(request.user) if request else get_user_model().objects.none()


class AuditFilterSet(RegistryFilterSet):
    user = django_filters.ModelChoiceFilter(label=_("User"), queryset=_users, method="filter_user")
    station = django_filters.ModelChoiceFilter(label=_("Station"), queryset=choices_in_scope(Station),
                                               field_name="station_id", method="filter_station")
    action = django_filters.ChoiceFilter(label=_("Action"), choices=AuditAction.choices)
    object_type = django_filters.ChoiceFilter(label=_("Record type"), choices=RECORD_TYPES)
    person = django_filters.NumberFilter(label=_("Person"), method="filter_person", widget=forms.HiddenInput)
    since = django_filters.DateFilter(label=_("From"), method="filter_since",
                                      widget=forms.DateInput(attrs={"type": "date"}))
    until = django_filters.DateFilter(label=_("To"), method="filter_until",
                                      widget=forms.DateInput(attrs={"type": "date"}))

    class Meta:
        model = AuditEvent
        fields = ["user", "station", "action", "object_type", "person", "since", "until"]
        form = type("AuditFilterForm", (BootstrapFormMixin, forms.Form), {})

    @extend_schema_field(OpenApiTypes.INT)  # a user's id
    def filter_user(self, queryset, name, value):
        return queryset.filter(actor_id=value.pk)

    def filter_station(self, queryset, name, value):
        return queryset.filter(station_id=value.pk)

    def filter_person(self, queryset, name, value):
        # A person outside the reader's scope does not exist for them: the filter finds nothing.
        if not Person.objects.visible_to(self.request.user).filter(pk=value).exists():
            return queryset.none()
        return queryset.filter(object_type="persons.person", object_id=str(int(value)))

    def filter_since(self, queryset, name, value):
        return queryset.filter(at__gte=_day_start(value))

    def filter_until(self, queryset, name, value):
        return queryset.filter(at__lt=_day_start(value + datetime.timedelta(days=1)))


def _day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def audit_events(request, params):
    """(filterset, queryset newest first) over what the request's user may read."""
    filterset = AuditFilterSet(params or None, queryset=AuditEvent.objects.visible_to(request.user),
                               request=request)
    return filterset, filterset.qs.order_by("-at", "-id")


def cursor_encode(event: AuditEvent) -> str:
    return base64.urlsafe_b64encode(f"{event.at.isoformat()}|{event.pk}".encode()).decode().rstrip("=")


def cursor_decode(value: str) -> tuple[datetime.datetime, int]:
    try:
        text = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4)).decode()
        at, pk = text.rsplit("|", 1)
        return datetime.datetime.fromisoformat(at), int(pk)
    except (ValueError, UnicodeDecodeError) as exc:
        raise ValidationError(_("This page's address is damaged; start from the first page.")) from exc


def page_after(events, cursor: str | None):
    """One page of ``events`` (newest first) after ``cursor``; returns (rows, next cursor or None)."""
    if cursor:
        at, pk = cursor_decode(cursor)
        events = events.filter(Q(at__lt=at) | Q(at=at, id__lt=pk))
    rows = list(events[:PAGE_SIZE + 1])
    more = len(rows) > PAGE_SIZE
    rows = rows[:PAGE_SIZE]
    return rows, (cursor_encode(rows[-1]) if more and rows else None)
