"""The operator's guest register on the portal: who is in, check a guest in (one screen), check out (one tap).

A lodging that is not the operator's does not exist (404); writes call ``lodging.services``.
"""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View

from housing.models import LODGING_TYPES, Property, Unit
from registry.forms import add_service_error
from registry.roles import RoleChoices
from registry.scoping import get_object_for_user, scope_for

from .forms import CheckInForm
from .models import Stay
from .services import stay_check_in, stay_check_out

RECENT = 20


class OperatorMixin(LoginRequiredMixin):
    """Lodging operators (landlord accounts) only; the lodging must be theirs."""

    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated:
            scope = scope_for(request.user)
            if scope.role != RoleChoices.LANDLORD or scope.is_empty or not request.user.has_perm("lodging.add_stay"):
                raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)

    def get_lodging(self) -> Property:
        if not hasattr(self, "_lodging"):
            self._lodging = get_object_for_user(Property.objects.filter(property_type__in=LODGING_TYPES),
                                                self.request.user, pk=self.kwargs["pk"])
        return self._lodging

    def rooms(self):
        return list(Unit.objects.filter(property=self.get_lodging()).order_by("label").values_list("label", flat=True))


class RegisterView(OperatorMixin, View):
    """``/portal/lodgings/<pk>/``: guests in now, each with a check-out button, and today's departures."""

    def get(self, request, pk):
        lodging = self.get_lodging()
        stays = Stay.objects.visible_to(request.user).filter(property=lodging)
        today = timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)
        return render(request, "lodging/portal_register.html", {
            "lodging": lodging,
            "staying": stays.staying().order_by("room", "arrived_at", "id"),
            "left_today": stays.filter(checked_out_at__gte=today).order_by("-checked_out_at", "-id")[:RECENT],
        })


class CheckInView(OperatorMixin, View):
    """``/portal/lodgings/<pk>/check-in/``: one screen."""

    def get(self, request, pk):
        return self.render(CheckInForm(rooms=self.rooms()))

    def post(self, request, pk):
        form = CheckInForm(request.POST, rooms=self.rooms())
        if form.is_valid():
            data = form.cleaned_data
            try:
                stay = stay_check_in(lodging=self.get_lodging(), actor=request.user,
                                     document_type=data["document_type"], document_number=data["document_number"],
                                     document_country=data["document_country"], name=data["name"],
                                     room=data["room"], nights=data["nights"], arrived_at=data["arrived_at"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                message = _("%(name)s is checked in to room %(room)s.") % {"name": stay.name, "room": stay.room}
                if stay.is_late:
                    message += " " + _("Recorded more than an hour after arrival: marked late.")
                messages.success(request, message)
                return redirect(reverse("lodging_portal:register", args=[pk]))
        return self.render(form)

    def render(self, form):
        return render(self.request, "lodging/portal_check_in.html", {"lodging": self.get_lodging(), "form": form})


class CheckOutView(OperatorMixin, View):
    """One tap: POST with the stay's version (a second tap, or another device's, changes nothing)."""

    def post(self, request, pk, stay_pk):
        lodging = self.get_lodging()
        stay = get_object_or_404(Stay.objects.visible_to(request.user).filter(property=lodging), pk=stay_pk)
        try:
            version = int(request.POST.get("version", ""))
        except ValueError:
            version = None
        try:
            stay_check_out(stay=stay, expected_version=version)
        except ValidationError:  # checked out already, or by another device since the page was shown
            messages.warning(request, _("This guest had already been checked out."))
        else:
            messages.success(request, _("%(name)s has checked out of room %(room)s.") % {"name": stay.name,
                                                                                         "room": stay.room})
        return redirect(reverse("lodging_portal:register", args=[pk]))
