import datetime

from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from housing.models import Residence

from .roles import RoleChoices
from .scoping import scope_for

DUE_SOON_DAYS = 7


class HomeView(LoginRequiredMixin, View):
    """The user's work today: verifications due, and what they registered recently."""

    def get(self, request):
        scope = scope_for(request.user)
        if scope.role == RoleChoices.ADMIN and request.user.is_staff and scope.station_ids is None:
            return redirect("admin:index")
        if scope.role in (RoleChoices.LANDLORD, RoleChoices.EMPLOYER):
            return self.portal(request)
        today = timezone.localdate()
        residences = Residence.objects.visible_to(request.user).select_related(
            "person", "unit__property__community")
        due = residences.filter(status__in=["active", "unconfirmed"],
                                next_verification_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        recent = residences.filter(created_by=request.user).order_by("-created_at")[:10]
        return render(request, "home.html", {
            "today": today,
            "due": due.order_by("next_verification_due", "id")[:20],
            "due_count": due.count(),
            "overdue_count": due.filter(next_verification_due__lt=today).count(),
            "recent": recent,
        })

    def portal(self, request):
        """Landlords and employers: their properties, units, capacity and current occupants (masked)."""
        from collections import defaultdict

        from django.db.models import Prefetch

        from housing.models import Property, Unit
        from housing.selectors import units_with_occupancy

        units = units_with_occupancy(Unit.objects.order_by("label"))
        properties = Property.objects.visible_to(request.user).select_related("community").prefetch_related(
            Prefetch("units", queryset=units)).order_by("address")
        occupants = defaultdict(list)
        current = Residence.objects.visible_to(request.user).filter(status__in=["active", "unconfirmed"])
        for residence in current.select_related("person").only(
                "unit_id", "status", "start_date", "person__name", "person__document_number"):
            occupants[residence.unit_id].append(residence)
        return render(request, "portal_home.html", {"properties": properties, "occupants": occupants})
