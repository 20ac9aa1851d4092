"""The review queue: station staff approve or reject what landlords and employers reported.

Oldest first, with each report's age and whether it came within the deadline. Approving calls the
same services as the desk; the document number is compared with the person already registered
under it, and a different name or birth date is shown before anyone approves.
"""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import Http404
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views import View

from persons.models import Person
from registry.forms import add_service_error
from registry.scoping import get_object_for_user
from registry.views import ScopedListView, ScopedMixin, StaffPageMixin

from .filtersets import SubmissionFilterSet
from .forms import AppealAnswerForm, RejectForm
from .models import AppealStatusChoices, RatingAppeal, Submission
from .services import (
    appeal_answer,
    submission_approve,
    submission_identity_checks,
    submission_reject,
    submissions_approve,
    submissions_reject,
)

PROPERTY_OPTIONS = 300


class ReviewPermissionMixin:
    model = Submission
    permission_required = "portal.change_submission"


class SubmissionQueueView(StaffPageMixin, ReviewPermissionMixin, ScopedListView):
    """Reports waiting for review, oldest first.

    Supervisors read it too (the dashboards' reports figures lead here), without the approve and reject
    buttons: they hold the view permission only. Owners hold it for their own reports and are refused as
    non-staff.
    """

    permission_required = "portal.view_submission"
    template_name = "portal/review_list.html"
    filterset_class = SubmissionFilterSet

    def get_base_queryset(self):
        # The submitter is shown as the property's owner (landlord or employer) and the property, not a user name.
        return Submission.objects.select_related(
            "property__community", "property__landlord", "property__employer", "unit", "residence__person",
        ).order_by("created_at", "id")

    def get_queryset(self):
        queryset = super().get_queryset()
        if not self.request.GET.get("status"):
            queryset = queryset.waiting()
        return queryset

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        page = list(context["object_list"])
        checks = submission_identity_checks(page)
        visible = set()
        people = [c.person.pk for c in checks.values() if c.person is not None]
        if people:
            visible = set(Person.objects.visible_to(self.request.user).filter(pk__in=people)
                          .values_list("pk", flat=True))
        context["rows"] = [(s, checks.get(s.pk)) for s in page]
        context["visible_people"] = visible
        context["today"] = timezone.localdate()
        context["reject_form"] = RejectForm()
        context["can_decide"] = self.request.user.has_perm("portal.change_submission")
        chosen = getattr(self.filterset.form, "cleaned_data", {})
        context["narrowed"] = {name: chosen.get(name) for name in ("station", "reported_from", "reported_until")
                               if chosen.get(name)}
        # The property select offers the properties with a report waiting (not every property in scope), and the
        # one chosen; one query.
        waiting = (Submission.objects.visible_to(self.request.user).waiting().order_by()
                   .values_list("property_id", "property__address").distinct()[:PROPERTY_OPTIONS])
        options = sorted(set(waiting), key=lambda option: (option[1], option[0]))
        if chosen.get("property") and chosen["property"].pk not in {pk for pk, _address in options}:
            options.insert(0, (chosen["property"].pk, chosen["property"].address))
        context["property_options"] = options
        return context


class SubmissionDecideView(ReviewPermissionMixin, ScopedMixin, View):
    """POST approve or reject one report."""

    def post(self, request, pk, decision):
        if decision not in ("approve", "reject"):
            raise Http404
        submission = get_object_for_user(Submission, request.user, pk=pk)
        try:
            expected = int(request.POST["version"]) if request.POST.get("version") else None
        except ValueError:
            expected = None
        if decision == "approve":
            try:
                submission_approve(submission=submission, actor=request.user, expected_version=expected)
            except ValidationError as exc:
                messages.error(request, _("Not approved: %(reason)s") % {"reason": " ".join(exc.messages)})
            else:
                messages.success(request, _("Approved: the registration is updated."))
            return redirect(self.back())
        form = RejectForm(request.POST)
        if form.is_valid():
            try:
                submission_reject(submission=submission, actor=request.user, expected_version=expected,
                                  reason=form.cleaned_data["rejection_reason"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Rejected; the sender sees your reason."))
                return redirect(self.back())
        return render(request, "portal/review_reject.html", {"submission": submission, "form": form}, status=400)

    def back(self):
        from django.urls import reverse
        from django.utils.http import url_has_allowed_host_and_scheme

        target = self.request.POST.get("next", "")
        if url_has_allowed_host_and_scheme(target, allowed_hosts={self.request.get_host()}):
            return target
        return reverse("review:queue")


class SubmissionBulkApproveView(ReviewPermissionMixin, ScopedMixin, View):
    """Approve several at once; each one is applied on its own and failures are listed."""

    def post(self, request):
        ids = [int(i) for i in request.POST.getlist("selected") if i.isdigit()]
        submissions = list(Submission.objects.visible_to(request.user).filter(pk__in=ids).order_by("created_at", "id"))
        if not submissions:
            messages.warning(request, _("Select at least one report to approve."))
            return redirect("review:queue")
        approved, failed = submissions_approve(submissions=submissions, actor=request.user)
        if approved:
            messages.success(request, ngettext("%(count)d report approved.", "%(count)d reports approved.",
                                               len(approved)) % {"count": len(approved)})
        for submission, reason in failed:
            messages.error(request, _("Not approved: %(what)s (%(date)s): %(reason)s") % {
                "what": submission.get_kind_display(), "date": submission.date, "reason": reason})
        return redirect("review:queue")


class SubmissionBulkRejectView(ReviewPermissionMixin, ScopedMixin, View):
    """Reject the selected reports with one reason: all of them, or none and which could not be."""

    def post(self, request):
        ids = [int(i) for i in request.POST.getlist("selected") if i.isdigit()]
        submissions = list(Submission.objects.visible_to(request.user).filter(pk__in=ids))
        form = RejectForm(request.POST)
        if not submissions:
            messages.warning(request, _("Select at least one report to reject."))
        elif not form.is_valid():
            messages.error(request, _("Not rejected: %(reason)s") % {
                "reason": " ".join(" ".join(errors) for errors in form.errors.values())})
        else:
            try:
                rejected = submissions_reject(submissions=submissions, actor=request.user,
                                              reason=form.cleaned_data["rejection_reason"])
            except ValidationError as exc:
                messages.error(request, " ".join(exc.messages))
                for submission in (exc.params or {}).get("refused", []):
                    messages.error(request, _("Cannot be rejected: %(what)s (%(date)s), %(status)s") % {
                        "what": submission.get_kind_display(), "date": submission.date,
                        "status": submission.get_status_display()})
            else:
                messages.success(request, ngettext(
                    "%(count)d report rejected; each sender sees your reason.",
                    "%(count)d reports rejected; each sender sees your reason.", len(rejected)) % {
                    "count": len(rejected)})
        return redirect(SubmissionDecideView.back(self))


class AppealListView(ScopedListView):
    """Rating appeals of the station's properties, waiting ones first; officers answer them."""

    model = RatingAppeal
    # Owners hold view_ratingappeal for their own appeals; this page is the station's.
    permission_required = ("portal.view_ratingappeal", "persons.view_person")
    template_name = "portal/appeal_list.html"

    def get_base_queryset(self):
        return RatingAppeal.objects.select_related("property__community", "rating", "created_by", "answered_by")

    def get_queryset(self):
        queryset = super().get_queryset()
        if self.request.GET.get("answered") != "1":
            queryset = queryset.filter(status=AppealStatusChoices.WAITING)
        return queryset.order_by("created_at", "id")

    def get_context_data(self, **kwargs):
        return super().get_context_data(answer_form=AppealAnswerForm(),
                                        answered=self.request.GET.get("answered") == "1", **kwargs)


class AppealAnswerView(ScopedMixin, View):
    model = RatingAppeal
    permission_required = "portal.change_ratingappeal"

    def post(self, request, pk):
        appeal = get_object_for_user(RatingAppeal.objects.select_related("property"), request.user, pk=pk)
        form = AppealAnswerForm(request.POST)
        if form.is_valid():
            try:
                appeal_answer(appeal=appeal, actor=request.user, accepted=form.cleaned_data["decision"] == "accept",
                              answer=form.cleaned_data["answer"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, _("Answer sent to the landlord or employer."))
                return redirect("review:appeal_list")
        return render(request, "portal/appeal_answer.html", {"appeal": appeal, "form": form}, status=400)
