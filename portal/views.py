"""The landlord and employer portal: mobile-first pages for the owner of properties or dormitories."""

from collections import defaultdict

from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch
from django.shortcuts import render
from django.views import View

from housing.models import Property, Residence, Unit
from housing.selectors import units_with_occupancy
from registry.roles import RoleChoices
from registry.scoping import scope_for

PORTAL_ROLES = (RoleChoices.LANDLORD, RoleChoices.EMPLOYER)


class PortalMixin(LoginRequiredMixin):
    """Portal pages are for landlord and employer accounts; anyone else gets 403."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if scope.role not in PORTAL_ROLES or scope.is_empty:
                raise PermissionDenied
            self.scope = scope
        return super().dispatch(request, *args, **kwargs)


class PortalHomeView(PortalMixin, View):
    """My properties: units, capacity and current occupants (masked)."""

    def get(self, request):
        units = units_with_occupancy(Unit.objects.order_by("label"))
        properties = Property.objects.visible_to(request.user).select_related("community").prefetch_related(
            Prefetch("units", queryset=units)).order_by("address")
        occupants = defaultdict(list)
        current = Residence.objects.visible_to(request.user).filter(status__in=["active", "unconfirmed"])
        for residence in current.select_related("person").only(
                "unit_id", "status", "start_date", "person__name", "person__document_number"):
            occupants[residence.unit_id].append(residence)
        return render(request, "portal_home.html", {"properties": properties, "occupants": occupants})
