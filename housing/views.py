import copy
from collections import defaultdict

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Count, Exists, F, OuterRef, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View
from django.views.generic import CreateView, UpdateView

from patrol.models import Inspection, Visit
from persons.models import CURRENT_RESIDENCE_STATUSES
from registry import audit
from registry.forms import add_service_error
from registry.scoping import get_object_for_user, scope_for
from registry.services import versioned_save
from registry.views import ScopedDetailView, ScopedListView

from .filtersets import LandlordFilterSet, PropertyFilterSet
from .forms import LandlordForm, PropertyForm, UnitForm
from .models import Landlord, Property, Residence, Unit
from .selectors import CURRENT as OCCUPYING
from .selectors import units_with_occupancy

# Inspections, visits and a landlord's properties shown on a detail page; the rest are a list away.
DETAIL_ROWS = 50


class PropertyOptionsView(LoginRequiredMixin, View):
    """``<option>``s of the properties in a community, for the place picker (htmx)."""

    def get(self, request):
        community = request.GET.get("community", "")
        properties = Property.objects.none()
        if community.isdigit():
            properties = Property.objects.visible_to(request.user).filter(community_id=community)
            query = request.GET.get("q", "").strip()
            if query:
                properties = properties.filter(address__icontains=query)
            properties = properties.order_by("address")[:200]
        return render(request, "housing/picker_property_options.html", {"properties": properties})


class UnitOptionsView(LoginRequiredMixin, View):
    """``<option>``s of a property's units with their occupancy, for the place picker (htmx)."""

    def get(self, request):
        prop = request.GET.get("property", "")
        units = Unit.objects.none()
        if prop.isdigit():
            units = units_with_occupancy(Unit.objects.visible_to(request.user).filter(property_id=prop))
        return render(request, "housing/picker_unit_options.html", {"units": units})


class UnitOccupancyView(LoginRequiredMixin, View):
    """How many live in a unit against its capacity, shown before a registration is saved."""

    def get(self, request):
        unit_id = request.GET.get("unit", "")
        unit = None
        if unit_id.isdigit():
            unit = get_object_for_user(units_with_occupancy(Unit.objects.all()), request.user, pk=unit_id)
        return render(request, "housing/unit_occupancy.html", {"unit": unit})


# ---- Station staff pages: properties, units and landlords -------------------------------------------


def count_of(queryset: QuerySet, outer: str):
    """A correlated ``COUNT(*)`` of the rows of ``queryset`` whose ``outer`` is the outer row: no per-row query,
    and unlike ``Count()`` over joins, several of these side by side don't multiply each other."""
    rows = queryset.filter(**{outer: OuterRef("pk")}).order_by().values(outer)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)


def properties_with_totals(queryset: QuerySet[Property]) -> QuerySet[Property]:
    """Annotate properties with ``unit_count``, ``capacity_total``, ``occupant_count`` and ``crowded``
    (some unit houses more people than its capacity), all computed in the list's one query."""
    units = Unit.objects.filter(property=OuterRef("pk")).order_by().values("property")
    crowded = units_with_occupancy(Unit.objects.filter(property=OuterRef("pk"))).filter(occupants__gt=F("capacity"))
    return queryset.annotate(
        unit_count=count_of(Unit.objects.all(), "property"),
        capacity_total=Coalesce(Subquery(units.annotate(n=Sum("capacity")).values("n")), 0),
        occupant_count=count_of(Residence.objects.filter(status__in=OCCUPYING), "unit__property"),
        crowded=Exists(crowded),
    )


class StaffPageMixin:
    """Pages for station staff, officers, supervisors and administrators.

    Landlords and employers hold some of the same view permissions for their own portal, so they are
    refused here by the kind of scope they have rather than by a permission.
    """

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if not (scope.is_global or scope.station_ids):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


class StaffFormMixin(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin):
    """Create and edit pages: the model permission (supervisors and portal roles lack it: 403); forms get the
    user so that their choices stay inside the user's scope."""

    success_message = ""

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["user"] = self.request.user
        return kwargs

    def get_success_message(self):
        return self.success_message % {"name": self.object}

    def saved(self):
        messages.success(self.request, self.get_success_message())
        return redirect(self.get_success_url())


class StaffCreateView(StaffFormMixin, CreateView):
    def form_valid(self, form):
        with transaction.atomic():
            self.object = form.save()
        return self.saved()


class StaffUpdateView(StaffFormMixin, UpdateView):
    """Edit with optimistic concurrency: the form posts the version it was loaded with; if someone saved in
    between, ``versioned_save`` refuses, the form shows why, and nothing is written."""

    def get_base_queryset(self):
        return self.model._default_manager.all()

    def get_object(self, queryset=None):
        return get_object_for_user(self.get_base_queryset(), self.request.user, pk=self.kwargs["pk"])

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        # The form works on a copy, so the page heading keeps the saved values while errors are shown.
        kwargs["instance"] = copy.copy(self.object)
        return kwargs

    def form_valid(self, form):
        try:
            versioned_save(form.instance, expected_version=form.cleaned_data["version"], fields=form.save_fields)
        except ValidationError as exc:
            add_service_error(form, exc)
            return self.form_invalid(form)
        self.object = form.instance
        return self.saved()


class PropertyListView(StaffPageMixin, ScopedListView):
    model = Property
    filterset_class = PropertyFilterSet
    template_name = "housing/property_list.html"

    def get_base_queryset(self):
        return properties_with_totals(
            Property.objects.select_related("community", "landlord", "employer").only(
                "id", "address", "property_type", "registration_number", "agreement_signed_on",
                "community__name", "landlord__name", "employer__name",
            )
        )

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        # "All properties of this landlord" arrives filtered by owner: say whose they are.
        chosen = getattr(self.filterset.form, "cleaned_data", {})
        context["owner_filter"] = chosen.get("landlord") or chosen.get("employer")
        context["community_choices"] = list(
            self.filterset.form.fields["community"].queryset.values_list("pk", "name"))
        return context


class PropertyDetailView(StaffPageMixin, ScopedDetailView):
    model = Property
    template_name = "housing/property_detail.html"

    def get_base_queryset(self):
        return Property.objects.select_related("community", "station", "landlord", "employer")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, prop = self.request.user, self.object
        units = list(units_with_occupancy(Unit.objects.visible_to(user).filter(property=prop)).order_by("label", "id"))
        residences = (
            Residence.objects.visible_to(user)
            .filter(unit__property=prop, status__in=CURRENT_RESIDENCE_STATUSES)
            .select_related("person")
            .only("id", "unit_id", "status", "start_date", "person__id", "person__name", "person__document_number")
            .order_by("start_date", "id")
        )
        by_unit = defaultdict(list)
        for residence in residences:
            by_unit[residence.unit_id].append(residence)
        for unit in units:
            unit.current_residences = by_unit.get(unit.pk, [])
            unit.over_capacity = unit.occupants > unit.capacity
        context.update(
            units=units,
            capacity_total=sum(unit.capacity for unit in units),
            occupant_total=sum(unit.occupants for unit in units),
            inspections=Inspection.objects.visible_to(user).filter(property=prop)
            .select_related("inspector")[:DETAIL_ROWS],
            visits=Visit.objects.visible_to(user).filter(property=prop)
            .select_related("visited_by").annotate(outcome_count=Count("outcomes"))[:DETAIL_ROWS],
        )
        return context


class PropertyCreateView(StaffCreateView):
    model = Property
    form_class = PropertyForm
    permission_required = "housing.add_property"
    template_name = "housing/property_form.html"
    success_message = _("Property added: %(name)s.")

    def get_initial(self):
        # "Add a property" on a landlord's or employer's page comes with the owner chosen.
        return {name: self.request.GET[name] for name in ("landlord", "employer", "community")
                if self.request.GET.get(name, "").isdigit()}

    def get_success_url(self):
        return reverse("housing:property_detail", args=[self.object.pk])


class PropertyUpdateView(StaffUpdateView):
    model = Property
    form_class = PropertyForm
    permission_required = "housing.change_property"
    template_name = "housing/property_form.html"
    success_message = _("Property saved: %(name)s.")

    def get_base_queryset(self):
        return Property.objects.select_related("community")

    def get_success_url(self):
        return reverse("housing:property_detail", args=[self.object.pk])


class UnitCreateView(StaffCreateView):
    model = Unit
    form_class = UnitForm
    permission_required = "housing.add_unit"
    template_name = "housing/unit_form.html"
    success_message = _("Unit added: %(name)s.")

    def get_property(self):
        if not hasattr(self, "_property"):
            self._property = get_object_for_user(Property.objects.select_related("community"),
                                                 self.request.user, pk=self.kwargs["pk"])
        return self._property

    def get_form_kwargs(self):
        kwargs = super().get_form_kwargs()
        kwargs["instance"] = Unit(property=self.get_property())
        return kwargs

    def get_context_data(self, **kwargs):
        return super().get_context_data(property=self.get_property(), **kwargs)

    def get_success_url(self):
        return reverse("housing:property_detail", args=[self.object.property_id]) + f"#unit-{self.object.pk}"


class UnitUpdateView(StaffUpdateView):
    model = Unit
    form_class = UnitForm
    permission_required = "housing.change_unit"
    template_name = "housing/unit_form.html"
    success_message = _("Unit saved: %(name)s.")

    def get_base_queryset(self):
        return Unit.objects.select_related("property__community")

    def get_context_data(self, **kwargs):
        return super().get_context_data(property=self.object.property, **kwargs)

    def get_success_url(self):
        return reverse("housing:property_detail", args=[self.object.property_id]) + f"#unit-{self.object.pk}"


class LandlordListView(StaffPageMixin, ScopedListView):
    model = Landlord
    filterset_class = LandlordFilterSet
    template_name = "housing/landlord_list.html"

    def get_base_queryset(self):
        # Only the masked document: the full number is never decrypted for a list.
        return Landlord.objects.only(
            "id", "name", "name_pinyin", "phone", "address", "document_type", "document_number", "user_id",
        ).annotate(property_count=count_of(Property.objects.all(), "landlord"))


class LandlordDetailView(StaffPageMixin, ScopedDetailView):
    model = Landlord
    template_name = "housing/landlord_detail.html"

    def get_base_queryset(self):
        return Landlord.objects.select_related("station").defer("document_number")

    def get_object(self, queryset=None):
        landlord = super().get_object(queryset)
        audit.record_view(self.request.user, landlord, via="web")
        return landlord

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        properties = properties_with_totals(
            Property.objects.visible_to(self.request.user).filter(landlord=self.object).select_related("community")
        ).order_by("address", "id")
        context["properties"] = properties[:DETAIL_ROWS]
        context["property_count"] = properties.count()
        return context


class LandlordCreateView(StaffCreateView):
    model = Landlord
    form_class = LandlordForm
    permission_required = "housing.add_landlord"
    template_name = "housing/landlord_form.html"
    success_message = _("Landlord added: %(name)s.")

    def get_success_url(self):
        return reverse("housing:landlord_detail", args=[self.object.pk])


class LandlordUpdateView(StaffUpdateView):
    model = Landlord
    form_class = LandlordForm
    permission_required = "housing.change_landlord"
    template_name = "housing/landlord_form.html"
    success_message = _("Landlord saved: %(name)s.")

    def get_success_url(self):
        return reverse("housing:landlord_detail", args=[self.object.pk])
