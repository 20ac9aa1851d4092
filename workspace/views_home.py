import datetime

from django.conf import settings
from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views import View

from housing.models import CURRENT_RESIDENCE_STATUSES, Residence
from oversight.models import AccessFlag, FlagStatusChoices
from portal.models import Submission
from registry.roles import RoleChoices
from registry.scoping import scope_for

from .route import DUE_SOON_DAYS, due_by_property

HOME_STOPS = 12  # properties on the home page; the route list has them all


class HomeView(LoginRequiredMixin, View):
    """The user's work today: verifications due, reports waiting for review, and what they registered recently."""

    def get(self, request):
        scope = scope_for(request.user)
        if scope.role == RoleChoices.ADMIN and request.user.is_staff and scope.station_ids is None:
            return redirect("admin:index")
        if scope.role in (RoleChoices.LANDLORD, RoleChoices.EMPLOYER):
            return redirect("portal:home")
        today = timezone.localdate()
        residences = Residence.objects.visible_to(request.user).select_related(
            "person", "unit__property__community")
        due = residences.filter(status__in=CURRENT_RESIDENCE_STATUSES,
                                next_verification_due__lte=today + datetime.timedelta(days=DUE_SOON_DAYS))
        # The week's checks by community and property, as the route list plans them (issue 17, point 6).
        route, route_total = due_by_property(request.user, today=today,
                                             until=today + datetime.timedelta(days=DUE_SOON_DAYS), limit=HOME_STOPS)
        recent = residences.filter(created_by=request.user).order_by("-created_at")[:10]
        waiting = Submission.objects.visible_to(request.user).waiting().select_related(
            "property", "unit", "residence__person").order_by("created_at", "id")
        wait_days = settings.REGISTRY["SUBMISSION_WAIT_REMINDER_DAYS"]
        return render(request, "home.html", {
            "waiting": waiting[:8],
            "waiting_count": waiting.count(),
            "waiting_old_count": waiting.filter(
                created_at__lt=timezone.now() - datetime.timedelta(days=wait_days)).count(),
            "wait_days": wait_days,
            "today": today,
            "due_count": due.count(),
            "overdue_count": due.filter(next_verification_due__lt=today).count(),
            "recent": recent,
            "route": route, "route_total": route_total, "route_more": max(route_total - HOME_STOPS, 0),
            # Supervisors: access flags waiting for their review (oversight).
            "flags_open": (AccessFlag.objects.visible_to(request.user).filter(status=FlagStatusChoices.OPEN).count()
                           if request.user.has_perm("oversight.view_accessflag") else None),
        })
