from collections import defaultdict

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.views import View

from registry import audit
from registry.lookups import count_of
from registry.scoping import get_object_for_user
from registry.views import (
    ScopedDetailView,
    ScopedListView,
    StaffCreateView,
    StaffPageMixin,
    StaffUpdateView,
)

from .filtersets import LandlordFilterSet, PropertyFilterSet, ResidenceListFilterSet
from .forms import LandlordForm, PropertyForm, UnitForm
from .models import CURRENT_RESIDENCE_STATUSES, Landlord, Property, Residence, Unit
from .selectors import DETAIL_ROWS, properties_with_totals, units_with_occupancy


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
        context["station_filter"] = chosen.get("station")  # from a dashboard's figure
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


class ResidenceListView(StaffPageMixin, ScopedListView):
    """Residences in the user's scope: where the dashboards' residents figures lead, with the same filters."""

    model = Residence
    filterset_class = ResidenceListFilterSet
    template_name = "housing/residence_list.html"
    permission_required = "housing.view_residence"

    def get_base_queryset(self):
        return (Residence.objects.select_related("person", "unit__property")
                .only("id", "status", "start_date", "end_date", "end_reason", "next_verification_due", "person__id",
                      "person__name", "person__document_number", "person__document_type", "unit__label",
                      "unit__property__id", "unit__property__address")
                .order_by("next_verification_due", "id"))
