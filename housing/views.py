from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import render
from django.views import View

from registry.scoping import get_object_for_user

from .models import Property, Unit
from .selectors import units_with_occupancy


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
