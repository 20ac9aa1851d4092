"""Patrol pages: record a visit, record an inspection, residence permits, and the periodic-task log.

Every write goes through ``patrol.services``; every record comes through the user's scope.
"""

import datetime
from collections import defaultdict

from celery.schedules import crontab, schedule
from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin, UserPassesTestMixin
from django.core.exceptions import ValidationError
from django.db.models import OuterRef, Subquery
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext
from django.views import View
from django.views.generic import TemplateView

from housing.models import Property, Residence, Unit
from housing.views import StaffPageMixin
from registry.forms import add_service_error
from registry.models import TaskRun
from registry.scoping import get_object_for_user
from registry.views import ScopedListView

from .filtersets import ResidencePermitFilterSet, permit_expiry_window
from .forms import InspectionForm, PermitEndorseForm, PermitIssueForm, VisitForm
from .models import ResidencePermit, VerificationRequest, VisitOutcomeChoices
from .selectors import visit_residences, with_expiry_state
from .services import (
    inspection_record,
    permit_check_issue,
    permit_eligible_since,
    permit_endorse,
    permit_issue,
    permits_eligible,
    visit_record,
)


class PropertyWorkView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """A page of work at one property: the permission first (403), then the property in scope (404)."""

    template_name = None

    def get_property(self) -> Property:
        if not hasattr(self, "_property"):
            self._property = get_object_for_user(Property.objects.select_related("community", "station"),
                                                 self.request.user, pk=self.kwargs["pk"])
        return self._property

    def done(self, message: str):
        messages.success(self.request, message)
        return redirect(reverse("housing:property_detail", args=[self.get_property().pk]))


# ---- Visits -------------------------------------------------------------------------------------


class VisitCreateView(PropertyWorkView):
    """One visit covers every check due at the property: an answer for each current resident."""

    permission_required = "patrol.add_visit"
    template_name = "patrol/visit_form.html"

    def residences(self):
        return visit_residences(self.request.user, self.get_property()).only(
            "id", "unit_id", "status", "start_date", "next_verification_due", "unit__label",
            "person__id", "person__name", "person__document_number")

    def get(self, request, pk):
        return self.render(VisitForm(residences=self.residences()))

    def post(self, request, pk):
        form = VisitForm(request.POST, residences=self.residences())
        if form.is_valid():
            outcomes = form.outcomes()
            try:
                visit_record(prop=self.get_property(), visited_on=form.cleaned_data["visited_on"],
                             actor=request.user, outcomes=outcomes, note=form.cleaned_data["note"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return self.done(self.success_message(outcomes))
        return self.render(form)

    def success_message(self, outcomes: dict) -> str:
        counts = defaultdict(int)
        for outcome, _moved_out_on in outcomes.values():
            counts[outcome] += 1
        if not outcomes:
            return _("Visit recorded at %(address)s.") % {"address": self.get_property().address}
        return _("Visit recorded at %(address)s: %(confirmed)d confirmed, %(moved_out)d moved out, "
                 "%(not_found)d not found.") % {
            "address": self.get_property().address, "confirmed": counts[VisitOutcomeChoices.CONFIRMED],
            "moved_out": counts[VisitOutcomeChoices.MOVED_OUT], "not_found": counts[VisitOutcomeChoices.NOT_FOUND]}

    def render(self, form):
        prop = self.get_property()
        units = list(Unit.objects.visible_to(self.request.user).filter(property=prop).order_by("label", "id"))
        rows_by_unit = defaultdict(list)
        for row in form.rows():
            rows_by_unit[row[0].unit_id].append(row)
        today = timezone.localdate()
        open_request = VerificationRequest.objects.filter(property=prop, closed_on__isnull=True).first()
        return render(self.request, self.template_name, {
            "property": prop, "form": form, "today": today, "open_request": open_request,
            "units": [(unit, rows_by_unit.get(unit.pk, [])) for unit in units],
            "resident_count": len(form.residences),
        })


# ---- Inspections --------------------------------------------------------------------------------


class InspectionCreateView(PropertyWorkView):
    """The safety checklist, pass or fail per item; officers only."""

    permission_required = "patrol.add_inspection"
    template_name = "patrol/inspection_form.html"

    def get(self, request, pk):
        return self.render(InspectionForm())

    def post(self, request, pk):
        form = InspectionForm(request.POST)
        if form.is_valid():
            try:
                inspection = inspection_record(prop=self.get_property(), inspected_on=form.cleaned_data["inspected_on"],
                                               inspector=request.user, items=form.items(),
                                               notes=form.cleaned_data["notes"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                message = (_("Inspection recorded at %(address)s: passed.") if inspection.passed
                           else _("Inspection recorded at %(address)s: failed. The rating counts it until the "
                                  "next inspection passes."))
                return self.done(message % {"address": self.get_property().address})
        return self.render(form)

    def render(self, form):
        return render(self.request, self.template_name, {"property": self.get_property(), "form": form})


# ---- Residence permits --------------------------------------------------------------------------


class PermitListView(StaffPageMixin, ScopedListView):
    """Two tabs: residents eligible for a permit (with "Issue"), and the permits issued (with "Endorse")."""

    model = ResidencePermit
    permission_required = "patrol.view_residencepermit"
    template_name = "patrol/permit_list.html"
    TABS = ("eligible", "issued")

    @property
    def tab(self) -> str:
        tab = self.request.GET.get("tab", "")
        return tab if tab in self.TABS else "eligible"

    def get_base_queryset(self):
        today, soon = permit_expiry_window()
        return with_expiry_state(
            ResidencePermit.objects.select_related("person", "station").only(
                "id", "number", "issued_on", "expires_on", "last_endorsed_on", "station__name",
                "person__id", "person__name", "person__document_number"),
            today, soon)

    def get_queryset(self):
        if self.tab == "issued":
            self.filterset_class = ResidencePermitFilterSet
            return super().get_queryset()
        return (permits_eligible(Residence.objects.visible_to(self.request.user))
                .select_related("person", "unit__property")
                .only("id", "start_date", "status", "person__id", "person__name", "person__document_number",
                      "unit__id", "unit__label", "unit__property__id", "unit__property__address")
                .order_by("start_date", "id"))

    def get_template_names(self):
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        today, soon = permit_expiry_window()
        for row in context["page_obj"].object_list:
            if self.tab == "eligible":
                row.eligible_since = permit_eligible_since(row)
            else:
                row.days_left = (row.expires_on - today).days
        context.update(tab=self.tab, today=today, reminder_days=settings.REGISTRY["PERMIT_REMINDER_DAYS"],
                       eligible_months=settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"])
        return context


class PermitIssueView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """An officer issues a permit to an eligible resident: number and issue date."""

    permission_required = "patrol.add_residencepermit"
    template_name = "patrol/permit_issue.html"

    def residence(self) -> Residence:
        queryset = Residence.objects.select_related("person", "unit__property")
        return get_object_for_user(queryset, self.request.user, pk=self.kwargs["pk"])

    def get(self, request, pk):
        return self.render(self.residence(), PermitIssueForm())

    def post(self, request, pk):
        residence = self.residence()
        form = PermitIssueForm(request.POST)
        if form.is_valid():
            try:
                permit = permit_issue(residence=residence, number=form.cleaned_data["number"],
                                      issued_on=form.cleaned_data["issued_on"], actor=request.user)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Residence permit %(number)s issued to %(name)s; valid until %(date)s.") % {
                    "number": permit.number, "name": residence.person.name, "date": permit.expires_on.isoformat()})
                return redirect(reverse("patrol:permit_list") + "?tab=issued")
        return self.render(residence, form)

    def render(self, residence, form):
        try:
            permit_check_issue(residence=residence, issued_on=timezone.localdate())
            eligible = True
        except ValidationError:
            eligible = False
        return render(self.request, self.template_name, {
            "residence": residence, "form": form, "eligible": eligible,
            "eligible_since": permit_eligible_since(residence),
            "eligible_months": settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"],
        })


class PermitEndorseView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """Yearly endorsement (POST only), from the reminder window before expiry onwards."""

    permission_required = "patrol.change_residencepermit"
    http_method_names = ["post"]

    def post(self, request, pk):
        permit = get_object_for_user(ResidencePermit.objects.select_related("person"), request.user, pk=pk)
        form = PermitEndorseForm(request.POST)
        names = {"number": permit.number, "name": permit.person.name}
        if not form.is_valid():
            messages.warning(request, _("Permit %(number)s changed since this page was loaded (perhaps it was just "
                                        "endorsed); nothing was done. Check it and try again.") % names)
        else:
            try:
                permit = permit_endorse(permit=permit, endorsed_on=timezone.localdate(),
                                        expected_expires_on=form.cleaned_data["expires_on"])
            except ValidationError as exc:
                messages.warning(request, " ".join(exc.messages))
            else:
                messages.success(request, _("Permit %(number)s of %(name)s endorsed; valid until %(date)s.") % {
                    **names, "date": permit.expires_on.isoformat()})
        back = request.POST.get("next", "")
        if not url_has_allowed_host_and_scheme(back, allowed_hosts={request.get_host()},
                                               require_https=request.is_secure()):
            back = reverse("patrol:permit_list") + "?tab=issued"
        return redirect(back)


# ---- Periodic tasks -----------------------------------------------------------------------------

WEEKDAYS = {"0": gettext_lazy("Sunday"), "1": gettext_lazy("Monday"), "2": gettext_lazy("Tuesday"),
            "3": gettext_lazy("Wednesday"), "4": gettext_lazy("Thursday"), "5": gettext_lazy("Friday"),
            "6": gettext_lazy("Saturday"), "7": gettext_lazy("Sunday")}


def schedule_in_words(entry) -> str:
    """A beat schedule as a sentence: "Every day at 01:00", "Every 5 minutes", or the crontab itself."""
    if isinstance(entry, datetime.timedelta | int | float):
        entry = schedule(entry)
    if isinstance(entry, crontab):
        minute, hour = str(entry._orig_minute), str(entry._orig_hour)
        dom, month, dow = (str(entry._orig_day_of_month), str(entry._orig_month_of_year),
                           str(entry._orig_day_of_week))
        fixed_time = minute.isdigit() and hour.isdigit()
        time = f"{int(hour):02d}:{int(minute):02d}" if fixed_time else ""
        if fixed_time and dom == month == dow == "*":
            return _("Every day at %(time)s") % {"time": time}
        if fixed_time and dom == month == "*" and dow in WEEKDAYS:
            return _("Every %(weekday)s at %(time)s") % {"weekday": WEEKDAYS[dow], "time": time}
        if fixed_time and month == dow == "*" and dom.isdigit():
            return _("Day %(day)s of every month at %(time)s") % {"day": dom, "time": time}
        if minute.isdigit() and hour == dom == month == dow == "*":
            return _("Every hour at minute %(minute)s") % {"minute": minute}
        return _("Cron: %(expression)s") % {"expression": f"{minute} {hour} {dom} {month} {dow}"}
    if isinstance(entry, schedule):
        seconds = int(entry.run_every.total_seconds())
        for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
            if seconds % size == 0:
                count = seconds // size
                return {"day": ngettext("Every day", "Every %(count)d days", count),
                        "hour": ngettext("Every hour", "Every %(count)d hours", count),
                        "minute": ngettext("Every minute", "Every %(count)d minutes", count)}[unit] % {
                    "count": count}
        return ngettext("Every second", "Every %(count)d seconds", seconds) % {"count": seconds}
    return str(entry)


def run_name(task_path: str) -> str:
    """The name a task logs its runs under (``registry.taskruns.recorded``): its function, minus ``_task``."""
    name = task_path.rsplit(".", 1)[-1]
    return name.removesuffix("_task")


def duration_in_words(delta: datetime.timedelta | None) -> str:
    if delta is None:
        return ""
    seconds = delta.total_seconds()
    if seconds < 60:
        return _("%(seconds).1f s") % {"seconds": seconds}
    minutes, seconds = divmod(int(seconds), 60)
    if minutes < 60:
        return _("%(minutes)d min %(seconds)d s") % {"minutes": minutes, "seconds": seconds}
    hours, minutes = divmod(minutes, 60)
    return _("%(hours)d h %(minutes)d min") % {"hours": hours, "minutes": minutes}


class TaskRunListView(LoginRequiredMixin, UserPassesTestMixin, TemplateView):
    """For administrators: each periodic task with its schedule and last run, and the last 20 runs."""

    template_name = "patrol/task_runs.html"
    RECENT = 20

    def test_func(self):
        return self.request.user.is_superuser

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        entries = settings.CELERY_BEAT_SCHEDULE
        names = {key: run_name(entry["task"]) for key, entry in entries.items()}
        latest = TaskRun.objects.filter(task=OuterRef("task")).order_by("-started_at", "-id").values("pk")[:1]
        last_runs = {run.task: run for run in
                     TaskRun.objects.filter(task__in=set(names.values()), pk=Subquery(latest))}
        recent = list(TaskRun.objects.order_by("-started_at", "-id")[: self.RECENT])
        for run in [*last_runs.values(), *recent]:
            run.duration_text = duration_in_words(run.duration)
        context["tasks"] = [
            {"name": key, "task": entry["task"], "schedule": schedule_in_words(entry["schedule"]),
             "expires": duration_in_words(datetime.timedelta(seconds=entry.get("options", {}).get("expires") or 0))
             if entry.get("options", {}).get("expires") else "",
             "last_run": last_runs.get(names[key])}
            for key, entry in entries.items()
        ]
        context["recent_runs"] = recent
        return context
