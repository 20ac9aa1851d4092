"""The landlord and employer portal: mobile-first pages for the owner of properties or dormitories.

Everything here goes through the owner's scope: a property, a tenant or a report that is not theirs
does not exist (404). Writes call ``portal.services``; nothing here changes a registration directly.
"""

from collections import defaultdict

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count, Prefetch, Q
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views import View
from django.views.generic import ListView

from housing.models import LODGING_TYPES, Property, Residence, Unit
from housing.selectors import units_with_occupancy
from patrol.models import PropertyRating, VerificationRequest, VerificationRequestKind
from persons.models import Employment
from registry.forms import add_service_error
from registry.roles import RoleChoices
from registry.scoping import get_object_for_user, scope_for

from .forms import AppealForm, ArrivalForm, DepartureForm, OccupantsConfirmForm
from .models import RatingAppeal, Submission, SubmissionStatusChoices
from .selectors import rating_explained
from .services import (
    CURRENT,
    appeal_create,
    occupants_confirm,
    submission_report_arrival,
    submission_report_departure,
    submission_withdraw,
)

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

    def get_property(self) -> Property:
        if not hasattr(self, "_property"):
            self._property = get_object_for_user(Property.objects.select_related("community", "station"),
                                                 self.request.user, pk=self.kwargs["pk"])
        return self._property

    def current_residences(self, prop: Property):
        return (Residence.objects.visible_to(self.request.user)
                .filter(unit__property=prop, status__in=CURRENT)
                .select_related("person", "unit")
                .only("id", "unit_id", "status", "start_date", "next_verification_due", "version", "unit__label",
                      "person__id", "person__name", "person__document_number")
                .order_by("unit__label", "start_date", "id"))

    def back_to_property(self, message: str):
        messages.success(self.request, message)
        return redirect(reverse("portal:property_detail", args=[self.get_property().pk]))


def _open_confirmation(property_ids):
    return set(VerificationRequest.objects.filter(
        property_id__in=property_ids, kind=VerificationRequestKind.OWNER_CONFIRMATION,
        closed_on__isnull=True).values_list("property_id", flat=True))


class PortalHomeView(PortalMixin, View):
    """My properties (or dormitories): occupancy, rating, reports waiting and requests to confirm."""

    def get(self, request):
        properties = list(
            Property.objects.visible_to(request.user).select_related("community")
            .annotate(occupant_count=Count("units__residences", distinct=True,
                                           filter=Q(units__residences__status__in=CURRENT)))
            .order_by("address"))
        ids = [p.pk for p in properties]
        units = defaultdict(lambda: [0, 0])
        for property_id, capacity in Unit.objects.filter(property_id__in=ids).values_list("property_id", "capacity"):
            units[property_id][0] += 1
            units[property_id][1] += capacity
        ratings = {r.property_id: r for r in PropertyRating.objects.filter(property_id__in=ids, is_current=True)}
        waiting = dict(Submission.objects.visible_to(request.user).waiting().values("property_id").annotate(
            n=Count("id")).values_list("property_id", "n"))
        asked = _open_confirmation(ids)
        for prop in properties:
            prop.unit_count, prop.places = units[prop.pk]
            prop.rating = ratings.get(prop.pk)
            prop.waiting = waiting.get(prop.pk, 0)
            prop.asked_to_confirm = prop.pk in asked
            prop.is_lodging = prop.property_type in LODGING_TYPES
        return render(request, "portal/home.html", {"properties": properties})


class PortalPropertyDetailView(PortalMixin, View):
    """One property: units with their tenants (masked), the rating explained, reports and appeals."""

    def get(self, request, pk):
        prop = self.get_property()
        units = list(units_with_occupancy(Unit.objects.filter(property=prop)).order_by("label", "id"))
        occupants = defaultdict(list)
        for residence in self.current_residences(prop):
            occupants[residence.unit_id].append(residence)
        for unit in units:
            unit.residents = occupants.get(unit.pk, [])
        rating = PropertyRating.objects.filter(property=prop, is_current=True).first()
        submissions = list(Submission.objects.visible_to(request.user).filter(property=prop)
                           .select_related("unit", "residence__person").order_by("-created_at", "-id")[:10])
        appeals = list(RatingAppeal.objects.visible_to(request.user).filter(property=prop)
                       .order_by("-created_at", "-id")[:10])
        return render(request, "portal/property_detail.html", {
            "property": prop, "units": units, "explained": rating_explained(rating),
            "submissions": submissions, "appeals": appeals, "appeal_form": AppealForm(),
            "asked_to_confirm": bool(_open_confirmation([prop.pk])),
            "employees": self.scope.employer_id is not None,
        })


class ArrivalCreateView(PortalMixin, View):
    """Report an arrival: the tenant's document, name, phone, unit and date."""

    template_name = "portal/arrival_form.html"

    def units(self):
        return Unit.objects.visible_to(self.request.user).filter(property=self.get_property()).order_by("label")

    def get(self, request, pk):
        initial = {}
        if request.GET.get("unit"):
            initial["unit"] = request.GET["unit"]
        return self.render(ArrivalForm(units=self.units(), initial=initial))

    def post(self, request, pk):
        form = ArrivalForm(request.POST, units=self.units())
        if form.is_valid():
            data = form.cleaned_data
            try:
                submission = submission_report_arrival(
                    prop=self.get_property(), unit=data["unit"], actor=request.user,
                    document_type=data["document_type"], document_number=data["document_number"],
                    document_country=data["document_country"], name=data["name"], phone=data["phone"],
                    birth_date=data["birth_date"], sex=data["sex"], date=data["date"], reason=data["reason"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return self.back_to_property(_report_message(submission))
        return self.render(form)

    def render(self, form):
        return render(self.request, self.template_name, {
            "property": self.get_property(), "form": form,
            "deadline_days": settings.REGISTRY["REPORT_DEADLINE_DAYS"]})


def _report_message(submission: Submission) -> str:
    if submission.is_late:
        return _("Report sent; the station will review it. It was sent after the %(days)d-day deadline (%(date)s) "
                 "and is marked late.") % {"days": (submission.deadline() - submission.date).days,
                                            "date": submission.deadline().isoformat()}
    return _("Report sent; the station will review it. You can follow it under “My reports”.")


class DepartureCreateView(PortalMixin, View):
    """Report a departure: pick the tenant who left and the date."""

    template_name = "portal/departure_form.html"

    def get(self, request, pk):
        initial = {"residence": request.GET.get("residence")} if request.GET.get("residence") else {}
        return self.render(DepartureForm(residences=self.current_residences(self.get_property()), initial=initial))

    def post(self, request, pk):
        form = DepartureForm(request.POST, residences=self.current_residences(self.get_property()))
        if form.is_valid():
            try:
                submission = submission_report_departure(
                    prop=self.get_property(), residence=form.cleaned_data["residence"], actor=request.user,
                    date=form.cleaned_data["date"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return self.back_to_property(_report_message(submission))
        return self.render(form)

    def render(self, form):
        return render(self.request, self.template_name, {
            "property": self.get_property(), "form": form,
            "deadline_days": settings.REGISTRY["REPORT_DEADLINE_DAYS"]})


class OccupantsConfirmView(PortalMixin, View):
    """Confirm occupants, one screen per property: who still lives here, who left, who arrived."""

    template_name = "portal/confirm_form.html"

    def get(self, request, pk):
        return self.render(OccupantsConfirmForm(residences=self.current_residences(self.get_property())))

    def post(self, request, pk):
        prop = self.get_property()
        form = OccupantsConfirmForm(request.POST, residences=self.current_residences(prop))
        if form.is_valid():
            still, left = form.answers()
            try:
                counts = occupants_confirm(prop=prop, actor=request.user, still_living=still, moved_out=left)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                message = _("Thank you: %(confirmed)d confirmed, %(left)d departures sent for review.") % {
                    "confirmed": len(still), "left": counts["departures"]}
                if not counts["verified"]:
                    message += " " + _("At this rating the station still checks in person.")
                return self.back_to_property(message)
        return self.render(form)

    def render(self, form):
        return render(self.request, self.template_name, {
            "property": self.get_property(), "form": form, "today": timezone.localdate()})


class AppealCreateView(PortalMixin, View):
    def post(self, request, pk):
        prop = self.get_property()
        form = AppealForm(request.POST)
        if form.is_valid():
            try:
                appeal_create(prop=prop, component=form.cleaned_data["component"],
                              comment=form.cleaned_data["comment"], actor=request.user)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return self.back_to_property(_("Appeal sent; your community officer will answer it."))
        return render(request, "portal/appeal_form.html", {"property": prop, "appeal_form": form}, status=400)


class SubmissionListView(PortalMixin, ListView):
    """My reports: each one's status, the reason of a rejection, and withdraw while waiting."""

    template_name = "portal/submission_list.html"
    paginate_by = 25

    def get_queryset(self):
        queryset = Submission.objects.visible_to(self.request.user).select_related(
            "property", "unit", "residence__person").order_by("-created_at", "-id")
        status = self.request.GET.get("status")
        if status in SubmissionStatusChoices.values:
            queryset = queryset.filter(status=status)
        return queryset

    def get_context_data(self, **kwargs):
        return super().get_context_data(statuses=SubmissionStatusChoices.choices,
                                        status=self.request.GET.get("status", ""), **kwargs)


class SubmissionWithdrawView(PortalMixin, View):
    def post(self, request, pk):
        submission = get_object_for_user(Submission, request.user, pk=pk)
        try:
            submission_withdraw(submission=submission)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Report withdrawn."))
        return redirect("portal:submission_list")


class EmployeeListView(PortalMixin, ListView):
    """Employers: their current employees and where each lives, if in one of their dormitories."""

    template_name = "portal/employee_list.html"
    paginate_by = 50

    def get_queryset(self):
        if self.scope.employer_id is None:
            raise PermissionDenied
        housed = (Residence.objects.visible_to(self.request.user).filter(status__in=CURRENT)
                  .select_related("unit__property"))
        return (Employment.objects.visible_to(self.request.user).filter(end_date__isnull=True)
                .select_related("person").prefetch_related(Prefetch("person__residences", queryset=housed,
                                                                    to_attr="dormitory"))
                .order_by("person__name_pinyin", "id"))

