"""Dashboards: a station's figures at a glance, and for supervisors every station of the district side by side."""

import datetime

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.views import View

from housing.models import ResidenceEndReasonChoices
from oversight.models import AccessFlag, FlagStatusChoices
from registry.db_router import ReplicaReadsMixin
from registry.forms import BootstrapFormMixin, DateInput
from registry.models import Station
from registry.scoping import scope_for

from .dashboards import NOT_RECORDED, Period, StationFigures, dashboard, staff_workload, waiting_cutoff

CHART_STEP = 40  # SVG units per month
CHART_BASE = 130  # the bars' baseline; month labels sit below it
CHART_HEIGHT = 120  # the tallest bar
CHART_LEFT = 32  # room for the axis' values


def _scale(values, height: int = CHART_HEIGHT) -> tuple[int, list]:
    """The chart's maximum and each value's bar height in SVG units (0 stays 0, anything else ≥ 1)."""
    top = max([*values, 1])
    return top, [0 if not v else max(1, round(height * v / top)) for v in values]


def _bars(rows: list[dict], series: tuple[str, ...]) -> dict:
    """Place a bar chart's months: x, and for each series its bar's top (``<name>_y``) and height (``<name>_h``);
    with the values on the axis (none, half the tallest bar, the tallest) and the width of the drawing."""
    top = max([1, *(row[name] for row in rows for name in series)])
    for index, row in enumerate(rows):
        row.update(x=CHART_LEFT + index * CHART_STEP)
        for name in series:
            height = 0 if not row[name] else max(1, round(CHART_HEIGHT * row[name] / top))
            row.update({f"{name}_y": CHART_BASE - height, f"{name}_h": height})
    return {"rows": rows, "top": top, "width": CHART_LEFT + CHART_STEP * len(rows), "left": CHART_LEFT,
            "ticks": [{"value": value, "y": CHART_BASE - round(CHART_HEIGHT * value / top)}
                      for value in sorted({0, top // 2, top})]}


MAX_PERIOD_MONTHS = 36


class PeriodForm(BootstrapFormMixin, forms.Form):
    """The period the dashboard's period figures count (both days included); the last 12 months if not given."""

    since = forms.DateField(label=_("From"), required=False, widget=DateInput())
    until = forms.DateField(label=_("To"), required=False, widget=DateInput())

    def __init__(self, *args, today: datetime.date, **kwargs):
        super().__init__(*args, **kwargs)
        self.today = today

    def clean(self):
        data = super().clean()
        default = Period.default(self.today)
        since, until = data.get("since") or default.since, data.get("until") or default.until
        if since > until:
            since, until = until, since
        if until > self.today:
            raise forms.ValidationError(_("The period cannot end after today."), code="future")
        if (until.year - since.year) * 12 + until.month - since.month >= MAX_PERIOD_MONTHS:
            raise forms.ValidationError(_("Choose a period of at most %(months)d months.")
                                        % {"months": MAX_PERIOD_MONTHS}, code="long")
        data["period"] = Period(since=since, until=until)
        return data


def quick_periods(today: datetime.date) -> list[tuple[str, Period]]:
    """The period selector's shortcuts."""
    return [(_("Last 30 days"), Period(today - datetime.timedelta(days=29), today)),
            (_("Last 90 days"), Period(today - datetime.timedelta(days=89), today)),
            (_("Last 12 months"), Period.default(today)),
            (_("This year"), Period(today.replace(month=1, day=1), today))]


class DashboardView(ReplicaReadsMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """``/dashboard/``: the user's station, or their district's stations (``?station=`` opens one).

    ``?since=&until=`` choose the period of the figures that are about one (owners' reports, the monthly
    charts, the work by staff); the last 12 months by default. Every figure links to the list it counts, with
    the same filter, the period included.
    """

    permission_required = "persons.view_person"

    def get(self, request):
        scope = scope_for(request.user)
        if not (scope.is_global or scope.station_ids):
            raise PermissionDenied
        stations = list(Station.objects.visible_to(request.user).select_related("district").order_by("code"))
        chosen = request.GET.get("station")
        if chosen:
            stations = [s for s in stations if str(s.pk) == chosen]
            if not stations:
                raise Http404
        today = timezone.localdate()
        default = Period.default(today)
        form = PeriodForm(request.GET if ("since" in request.GET or "until" in request.GET) else None, today=today,
                          initial={"since": default.since, "until": default.until})
        period = form.cleaned_data["period"] if form.is_valid() else default
        counted = dashboard([s.pk for s in stations], today=today, period=period,
                            fresh=request.GET.get("refresh") == "1")
        figures = counted.figures
        rows = [(station, figures[station.pk]) for station in stations]
        total = StationFigures(station_id=0)
        for _station, stats in rows:
            total.add(stats)
        links = figure_links(today, chosen or "", period)
        star_top = max([*total.stars.values(), 1])
        star_rows = [(stars, count, round(100 * count / star_top), links[f"stars_{stars}"]) for stars, count in
                     sorted(total.stars.items(), reverse=True)]
        months = [dict(month, arrivals_url=month_link(chosen or "", month["first"], month["last"], "moved_in"),
                       departures_url=month_link(chosen or "", month["first"], month["last"], "moved_out"))
                  for month in counted.months]
        reasons = {**dict(ResidenceEndReasonChoices.choices), NOT_RECORDED: _("Not recorded")}
        departures = [{"reason": reason, "label": reasons[reason], "count": count,
                       "url": departures_link(chosen or "", period, reason)}
                      for reason, count in counted.departures.items()]
        keep = {"station": chosen} if chosen else {}
        return render(request, "dashboard.html", {
            "period_form": form, "period": period, "since": period.since, "until": period.until,
            "quick_periods": [(label, "?" + urlencode({**keep, "since": p.since, "until": p.until}), p == period)
                              for label, p in quick_periods(today)],
            "period_query": urlencode({"since": period.since, "until": period.until}),
            "workload": staff_workload([s.pk for s in stations], period.since, period.until),
            "today": today, "rows": rows, "total": total, "single": len(stations) == 1,
            "station": stations[0] if len(stations) == 1 else None,
            "moves_chart": _bars(months, ("arrivals", "departures")),
            "overdue_chart": _bars([dict(month) for month in counted.overdue_months], ("overdue",)),
            "star_rows": star_rows, "chart_base": CHART_BASE, "departures": departures,
            "departures_total": sum(row["count"] for row in departures),
            "can_choose": len(stations) > 1 or bool(chosen),
            "counted_at": counted.counted_at, "cached": counted.cached, "chosen": chosen or "",
            "links": links,
            # Supervisors: access flags waiting for their review (oversight), as on their home page.
            "flags_open": (AccessFlag.objects.visible_to(request.user).filter(status=FlagStatusChoices.OPEN).count()
                           if request.user.has_perm("oversight.view_accessflag") else None),
            "station_links": {station.pk: figure_links(today, str(station.pk), period) for station, _stats in rows},
        })


def figure_links(today: datetime.date, station: str, period: Period) -> dict:
    """Where each figure leads: the list it counts, with the figure's own filter (a test checks, figure by figure,
    that the list counts what the figure says). ``station`` is a station's id, or "" for every station in scope.

    Residents and verifications: the residences page. Properties, escalated verifications and ratings: the
    properties page. Owners' reports: the review queue (supervisors read it without deciding). Permits: the
    permits page.
    """
    def url(name, **query):
        return f"{reverse(name)}?{urlencode({**({'station': station} if station else {}), **query})}"

    week = today + datetime.timedelta(days=7)
    reported = {"status": "any", "reported_from": period.since, "reported_until": period.until}
    return {
        "residents": url("residences:list", current="true"),
        "unconfirmed": url("residences:list", status="unconfirmed"),
        "overdue": url("residences:list", current="true", due_until=today - datetime.timedelta(days=1)),
        "due_soon": url("residences:list", current="true", due_from=today, due_until=week),
        "permits_expiring": url("patrol:permit_list", tab="issued", status="expiring"),
        "properties": url("housing:property_list"),
        "escalated": url("housing:property_list", verification="escalated"),
        **{f"stars_{stars}": url("housing:property_list", stars=stars) for stars in range(6)},
        "waiting": url("review:queue", status="waiting"),
        "waiting_old": url("review:queue", status="waiting", submitted_before=waiting_cutoff(today)),
        "reports": url("review:queue", **reported),
        "late": url("review:queue", **reported, is_late="true"),
    }


def month_link(station: str, first: datetime.date, last: datetime.date, column: str) -> str:
    """The residences that moved in (``column`` "moved_in") or out ("moved_out") between these days."""
    query = {"station": station} if station else {}
    return f"{reverse('residences:list')}?{urlencode({**query, f'{column}_from': first, f'{column}_until': last})}"


def departures_link(station: str, period: Period, reason: str) -> str:
    """The residences that moved out in the period for ``reason`` (``NOT_RECORDED``: none was asked)."""
    query = {"station": station} if station else {}
    query |= {"moved_out_from": period.since, "moved_out_until": period.until, "end_reason": reason}
    return f"{reverse('residences:list')}?{urlencode(query)}"
