import django_filters
from django.db.models import F, FilteredRelation, Q
from django.utils.translation import gettext_lazy as _
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import extend_schema_field
from rest_framework.request import Request

from registry.filtersets import RegistryFilterSet, choices_in_scope
from registry.models import Community
from registry.scoping import scope_for

from .extensions import person_lives, person_permit, property_choices
from .models import Employer, Employment, Person
from .selectors import person_search

# The person list's filters on where a person lives: applied together, as one condition on one residence.
LIVES = ("community", "property", "residence_status", "verification", "arrived_from", "arrived_until")
PROPERTY_OPTIONS = 300  # a community's properties offered in the list's select; more are a search away


def _properties_in_scope(request):
    """The properties the caller may pick (housing provides them); none without a request (the schema)."""
    choices = property_choices(request) if request is not None else None
    # Without housing there is nothing to pick: an empty queryset of any model refuses every value.
    return choices if choices is not None else Community.objects.none()


@extend_schema_field(OpenApiTypes.INT)
class _IdChoiceFilter(django_filters.ModelChoiceFilter):
    """A community or property chosen by its id; the schema says so (its queryset is known per request only)."""


class PersonFilterSet(RegistryFilterSet):
    """Filters for the person list page and the persons API alike.

    Where a person lives (community, property, residence status, verification, arrival dates) is one
    ``EXISTS`` over their residences in the caller's scope, matching every one chosen; their permits another.
    Choices of communities and properties are those in the caller's scope: another is refused.
    """

    q = django_filters.CharFilter(method="filter_q", label=_("Search"))
    community = _IdChoiceFilter(
        label=_("Community"), method="filter_lives",
        queryset=choices_in_scope(Community.objects.order_by("name")))
    property = _IdChoiceFilter(label=_("Property"), method="filter_lives", queryset=_properties_in_scope)
    residence_status = django_filters.ChoiceFilter(
        label=_("Residence"), method="filter_lives",
        choices=[("active", _("Living here")), ("unconfirmed", _("Unconfirmed")),
                 ("ended", _("Moved out"))])
    verification = django_filters.ChoiceFilter(
        label=_("Verification"), method="filter_lives",
        choices=[("due", _("Due within 7 days")), ("overdue", _("Overdue"))])
    permit = django_filters.ChoiceFilter(
        label=_("Residence permit"), method="filter_permit",
        choices=[("valid", _("Valid")), ("expiring", _("Expiring soon")), ("expired", _("Expired")),
                 ("none", _("None")), ("eligible", _("Eligible, not issued"))])
    arrived_from = django_filters.DateFilter(label=_("Moved in from"), method="filter_lives")
    arrived_until = django_filters.DateFilter(label=_("Moved in until"), method="filter_lives")
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
        # The queryset is the user's persons (``visible_to``): a station's staff search their station's entries.
        return person_search(queryset, value[:50], station_id=scope_for(self._user()).single_station_id)

    def filter_lives(self, queryset, name, value):
        # Called once per chosen filter of LIVES; the first call applies them all, together.
        if getattr(self, "_lives_applied", False):
            return queryset
        self._lives_applied = True
        chosen = {key: self.form.cleaned_data.get(key) for key in LIVES
                  if self.form.cleaned_data.get(key) not in (None, "")}
        queryset, plan = self._station_plan(queryset)
        condition = person_lives(self._user(), **chosen, plan=plan)
        return queryset.none() if condition is None else queryset.filter(condition)

    def filter_permit(self, queryset, name, value):
        queryset, plan = self._station_plan(queryset)
        condition = person_permit(self._user(), value, plan=plan)
        return queryset.none() if condition is None else queryset.filter(condition)

    def _station_plan(self, queryset):
        """How a station's staff's page of filtered persons is read in the API (``persons.extensions``):
        ``(queryset, plan)``.

        "probe": the station's persons walked in the page's order and each tested, until the page is full.
        The order comes from their entries at the station (``SearchEntry``: one for each person in the station's
        scope, so the rows are the same), whose indexes hold it: by name (station, pinyin, person; persons 0012)
        and newest first (station, person). For any filter by name (no filter's matches gather at one end of
        the alphabet) and in a community (a tenth of the station) newest first.
        "first": newest first, the other filters' matches gather among older persons (moved out, holding a
        permit, arrived a year ago), so a walk would pass tens of thousands of newer ones: the matches are read
        first from their own indexes, and the page from them.
        "": at a property (a few persons), for supervisors, and on the list page, which counts its matches:
        every match read through a join.
        """
        data = self.form.cleaned_data
        station_id = scope_for(self._user()).single_station_id
        if not isinstance(self.request, Request) or data.get("property") is not None or station_id is None:
            return queryset, ""
        ordering = data.get("ordering") or ["-created"]  # the API's order when none is asked: newest first
        by_name = ordering[0].lstrip("-") == "name"
        if not by_name and data.get("community") is None:
            return queryset, "first"
        if not getattr(self, "_station_joined", False):
            self._station_joined = True
            entry = {"station_entry__station_id": station_id}
            if by_name:
                # The entry's pinyin is the person's (the triggers copy it): said, the planner reads the name order
                # from the entries' index. Only then: it also makes the planner expect a handful of rows.
                entry["station_entry__name_pinyin"] = F("name_pinyin")
            queryset = queryset.annotate(station_entry=FilteredRelation(
                "search_entries", condition=Q(search_entries__station_id=station_id))).filter(**entry)
        return queryset, "probe"

    def _user(self):
        return getattr(self.request, "user", None)

    def property_options(self) -> list[tuple[int, str]]:
        """The property select's options on the list page: the chosen community's properties (the first
        ``PROPERTY_OPTIONS`` by address), and the chosen property; not every property in scope (thousands)."""
        field = self.form.fields["property"]
        data = getattr(self.form, "cleaned_data", {}) or {}
        community, chosen = data.get("community"), data.get("property")
        options = []
        if community is not None:
            options = [(p.pk, str(p)) for p in field.queryset.filter(community=community).order_by("address", "pk")
                       .only("pk", "address")[:PROPERTY_OPTIONS]]
        if chosen is not None and chosen.pk not in {pk for pk, _label in options}:
            options.insert(0, (chosen.pk, str(chosen)))
        return options


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
