"""Access flags for supervisors: the list, and the review of one (justified or not, with a note; audited)."""

from urllib.parse import urlencode

from django import forms
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from registry import audit
from registry.forms import BootstrapFormMixin
from registry.models import AuditAction
from registry.scoping import get_object_for_user, oversees, scope_for

from .models import AccessFlag, FlagStatusChoices, RuleChoices

RULE_ACTIONS = {RuleChoices.UNMASKINGS: "unmask", RuleChoices.LARGE_EXPORT: "export",
                RuleChoices.MANY_PERSONS: "view", RuleChoices.NO_WORK_LINK: "view"}


class ReviewForm(BootstrapFormMixin, forms.Form):
    verdict = forms.ChoiceField(label=gettext_lazy("Verdict"), choices=[
        (FlagStatusChoices.JUSTIFIED, FlagStatusChoices.JUSTIFIED.label),
        (FlagStatusChoices.NOT_JUSTIFIED, FlagStatusChoices.NOT_JUSTIFIED.label)])
    note = forms.CharField(label=gettext_lazy("Note"), max_length=1000, widget=forms.Textarea(attrs={"rows": 2}),
                           help_text=gettext_lazy("What you found: the work it was for, or what follows."))


class FlagReaderMixin(LoginRequiredMixin):
    def dispatch(self, request, *args, **kwargs):
        if request.user.is_authenticated and not oversees(request.user, "oversight.view_accessflag"):
            raise PermissionDenied
        return super().dispatch(request, *args, **kwargs)


def events_url(flag: AccessFlag) -> str:
    """The audit page, filtered to the user's events behind the flag."""
    query = {"user": flag.actor_id, "since": flag.day.isoformat(), "until": flag.day.isoformat()}
    if flag.rule in RULE_ACTIONS:
        query["action"] = RULE_ACTIONS[flag.rule]
    return f"{reverse('audit')}?{urlencode(query)}"


class FlagListView(FlagReaderMixin, View):
    def get(self, request):
        flags = AccessFlag.objects.visible_to(request.user).select_related("station", "reviewed_by")
        status = request.GET.get("status", FlagStatusChoices.OPEN)
        if status in FlagStatusChoices.values:
            flags = flags.filter(status=status)
        page = Paginator(flags, 25).get_page(request.GET.get("page"))
        for flag in page.object_list:
            flag.events_url = events_url(flag)
        return render(request, "oversight/flags.html", {
            "page_obj": page, "status": status, "statuses": FlagStatusChoices.choices, "form": ReviewForm(),
            "query_without_page": urlencode({"status": status}),
        })


class FlagReviewView(FlagReaderMixin, View):
    def post(self, request, pk):
        if not request.user.has_perm("oversight.change_accessflag") and not scope_for(request.user).is_global:
            raise PermissionDenied
        flag = get_object_for_user(AccessFlag, request.user, pk=pk)
        form = ReviewForm(request.POST)
        if not form.is_valid():
            messages.error(request, _("Review not saved: %(errors)s") % {
                "errors": " ".join(f"{form.fields[name].label}: {' '.join(errors)}"
                                   for name, errors in form.errors.items())})
            return redirect(reverse("oversight:flags"))
        verdict, note = form.cleaned_data["verdict"], form.cleaned_data["note"]
        # Only an open flag is reviewed: two supervisors at once cannot overwrite each other's verdict.
        done = AccessFlag.objects.filter(pk=flag.pk, status=FlagStatusChoices.OPEN).update(
            status=verdict, review_note=note, reviewed_by=request.user, reviewed_at=timezone.now())
        if not done:
            flag.refresh_from_db()
            messages.warning(request, _("This flag was reviewed meanwhile by %(user)s; nothing changed.") % {
                "user": flag.reviewed_by.username if flag.reviewed_by else "?"})
            return redirect(reverse("oversight:flags"))
        audit.record(action=AuditAction.UPDATE, object_type="oversight.accessflag", object_id=flag.pk,
                     station_id=flag.station_id, changes={"status": [FlagStatusChoices.OPEN, verdict]},
                     reason=note, via="web")
        messages.success(request, _("Flag of %(user)s on %(day)s marked “%(verdict)s”.") % {
            "user": flag.actor_username, "day": flag.day.isoformat(), "verdict": FlagStatusChoices(verdict).label})
        return redirect(reverse("oversight:flags"))
