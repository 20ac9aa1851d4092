"""Roster reconciliation pages: paste or upload the list of occupants, see the differences, apply them.

One flow, two doors: owners (landlords, employers) on the portal send what they tick for review;
station staff on the review side apply it directly. The list travels between the two steps inside
the page (``portal.roster.roster_pack``), never in the session or on disk.
"""

from django import forms
from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View

from housing.models import ResidenceReasonChoices
from patrol.views import PropertyWorkView
from registry.forms import BootstrapFormMixin, DateInput, add_service_error
from registry.uploads import size_text

from .roster import (
    MAX_LINES,
    RosterPayloadError,
    roster_apply,
    roster_compare,
    roster_pack,
    roster_parse,
    roster_unpack,
)
from .views import PortalMixin


class RosterListForm(BootstrapFormMixin, forms.Form):
    """The list of occupants: pasted, or a file."""

    text = forms.CharField(
        label=gettext_lazy("Paste the list"), required=False,
        widget=forms.Textarea(attrs={"rows": 8, "autocomplete": "off", "spellcheck": "false",
                                     "placeholder": gettext_lazy("e.g. 11010119900307123X, 张伟, 101室, 13800138000")}),
        help_text=gettext_lazy("One occupant per line: ID number, name, unit, phone (optional), separated by "
                               "commas, tabs or spaces. A header line is allowed."))
    upload = forms.FileField(
        label=gettext_lazy("Or upload a file"), required=False,
        widget=forms.ClearableFileInput(attrs={"accept": ".csv,.txt,.xlsx"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        # The cap is a setting: the page states the one in force.
        self.fields["upload"].help_text = _(
            "CSV or Excel (.xlsx) with the columns 证件号码, 姓名, 房间号 and 电话 (or document_number, name, "
            "unit_label, phone), at most %(max)s.") % {"max": size_text(settings.UPLOAD_MAX_BYTES)}

    def clean(self):
        data = super().clean()
        if not data.get("text", "").strip() and not data.get("upload") and not self.errors:
            raise ValidationError(_("Paste the list or choose a file."), code="required")
        if data.get("text", "").strip() and data.get("upload"):
            raise ValidationError(_("Paste the list or choose a file, not both."), code="both")
        return data


class RosterApplyForm(BootstrapFormMixin, forms.Form):
    """The date and reason of the ticked changes; the ticks themselves are read from the POST."""

    date = forms.DateField(
        label=gettext_lazy("Date of the moves"), widget=DateInput(), initial=timezone.localdate,
        help_text=gettext_lazy("The move-in date of the arrivals and the move-out date of the departures. "
                               "If people moved on different days, apply them in separate rounds."))
    reason = forms.ChoiceField(label=gettext_lazy("Reason for living here (arrivals)"), required=False,
                               choices=ResidenceReasonChoices.choices, initial=ResidenceReasonChoices.OTHER)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["date"].widget.attrs["max"] = timezone.localdate().isoformat()


def _ids(values) -> set[int]:
    return {int(value) for value in values if value.isdigit()}


class RosterFlowMixin:
    """GET the form; POST ``action=compare`` shows the differences; POST ``action=apply`` applies the ticked ones."""

    as_owner = True
    form_template = "portal/roster_form.html"
    diff_template = "portal/roster_diff.html"

    # -- what differs between the two doors
    def back_url(self) -> str:
        raise NotImplementedError

    def home_link(self) -> tuple[str, str]:
        raise NotImplementedError

    def done_url(self) -> str:
        return self.back_url()

    # -- the flow
    def get(self, request, pk):
        return self.render_form(RosterListForm())

    def post(self, request, pk):
        if request.POST.get("action") == "apply":
            return self.apply()
        return self.compare()

    def compare(self):
        form = RosterListForm(self.request.POST, self.request.FILES)
        if form.is_valid():
            try:
                lines, errors = roster_parse(text=form.cleaned_data["text"], upload=form.cleaned_data["upload"])
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                if lines:
                    diff = roster_compare(prop=self.get_property(), lines=lines)
                    return self.render_diff(lines=lines, diff=diff, parse_errors=errors, form=RosterApplyForm())
                return self.render_form(form, parse_errors=errors)
        return self.render_form(form)

    def apply(self):
        prop = self.get_property()
        try:
            lines, fingerprint = roster_unpack(token=self.request.POST.get("payload", ""), prop=prop,
                                               user=self.request.user)
        except RosterPayloadError as exc:
            return self.render_form(RosterListForm(), payload_error=str(exc), status=400)
        diff = roster_compare(prop=prop, lines=lines)
        form = RosterApplyForm(self.request.POST)
        selected = {"arrivals": _ids(self.request.POST.getlist("arrival")),
                    "departures": _ids(self.request.POST.getlist("departure")),
                    "moves": _ids(self.request.POST.getlist("move")) if not self.as_owner else set()}
        if form.is_valid():
            try:
                counts = roster_apply(
                    prop=prop, diff=diff, actor=self.request.user, date=form.cleaned_data["date"],
                    as_owner=self.as_owner, fingerprint=fingerprint,
                    reason=form.cleaned_data["reason"] or ResidenceReasonChoices.OTHER,
                    selected_arrivals=selected["arrivals"], selected_departures=selected["departures"],
                    selected_moves=selected["moves"])
            except ValidationError as exc:
                if getattr(exc, "code", None) == "stale":
                    # Show the comparison as it is now, with the user's ticks where they still apply, so
                    # "compare again" is one look and one click.
                    return self.render_diff(lines=lines, diff=diff, form=RosterApplyForm(initial=form.cleaned_data),
                                            selected=selected, stale_error=" ".join(exc.messages), status=409)
                add_service_error(form, exc)
            else:
                messages.success(self.request, self.success_message(counts))
                return redirect(self.done_url())
        return self.render_diff(lines=lines, diff=diff, form=form, selected=selected, fingerprint=fingerprint)

    def success_message(self, counts: dict) -> str:
        if self.as_owner:
            return _("Sent for review: %(arrivals)d arrivals and %(departures)d departures. The station reviews "
                     "each report; you can follow them under “My reports”.") % counts
        return _("Applied: %(arrivals)d registered, %(departures)d deregistered, %(moves)d moved to another "
                 "unit.") % counts

    # -- rendering
    def context(self, **extra) -> dict:
        home_url, home_label = self.home_link()
        return {"property": self.get_property(), "as_owner": self.as_owner, "back_url": self.back_url(),
                "home_url": home_url, "home_label": home_label, "action_url": self.request.path,
                "max_lines": MAX_LINES, **extra}

    def render_form(self, form, *, parse_errors=(), payload_error="", status=200):
        return render(self.request, self.form_template, self.context(
            form=form, parse_errors=parse_errors, payload_error=payload_error), status=status)

    def render_diff(self, *, lines, diff, form, parse_errors=(), selected=None, fingerprint=None, stale_error="",
                    status=200):
        errors = sorted([*parse_errors, *diff.errors], key=lambda error: error.line)
        if selected is None:
            # A line that could not be read may be someone who still lives here: do not tick departures then.
            selected = {"arrivals": {a.line.line for a in diff.arrivals if not (self.as_owner and a.already_reported)},
                        "departures": set() if errors else {d.residence.pk for d in diff.departures
                                                            if not (self.as_owner and d.already_reported)},
                        "moves": {m.residence.pk for m in diff.mismatches if m.unit_differs}}
        payload = roster_pack(prop=self.get_property(), user=self.request.user, lines=lines,
                              fingerprint=fingerprint or diff.fingerprint)
        return render(self.request, self.diff_template, self.context(
            diff=diff, form=form, errors=errors, payload=payload, selected=selected, stale_error=stale_error,
            line_count=len(lines)), status=status)


class PortalRosterView(RosterFlowMixin, PortalMixin, View):
    """Owners compare their list with the registry; what they tick is sent for review."""

    as_owner = True

    def back_url(self) -> str:
        return reverse("portal:property_detail", args=[self.get_property().pk])

    def home_link(self) -> tuple[str, str]:
        return reverse("portal:home"), _("My properties")


class StaffRosterView(RosterFlowMixin, PropertyWorkView):
    """Station staff compare a list (e.g. handed over on a visit) and apply it directly."""

    as_owner = False
    permission_required = ("housing.add_residence", "housing.change_residence")

    def back_url(self) -> str:
        return reverse("housing:property_detail", args=[self.get_property().pk])

    def home_link(self) -> tuple[str, str]:
        return reverse("housing:property_list"), _("Properties")

