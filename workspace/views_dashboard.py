"""Dashboards: a station's figures at a glance, and for supervisors every station of the district side by side."""

import datetime

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from oversight.models import AccessFlag, FlagStatusChoices
from registry.forms import BootstrapFormMixin
from registry.models import Station
from registry.scoping import scope_for

from .dashboards import StationFigures, dashboard, staff_workload

CHART_STEP = 40  # SVG units per month
CHART_BASE = 130  # the bars' baseline; month labels sit below it
CHART_HEIGHT = 120  # the tallest bar
CHART_LEFT = 32  # room for the axis' values


def _scale(values, height: int = CHART_HEIGHT) -> tuple[int, list]:
    """The chart's maximum and each value's bar height in SVG units (0 stays 0, anything else ≥ 1)."""
    top = max([*values, 1])
    return top, [0 if not v else max(1, round(height * v / top)) for v in values]


class DashboardView(LoginRequiredMixin, PermissionRequiredMixin, View):
    """``/dashboard/``: the user's station, or their district's stations (``?station=`` opens one)."""

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
        counted = dashboard([s.pk for s in stations], today=today, fresh=request.GET.get("refresh") == "1")
        figures = counted.figures
        months = [dict(month) for month in counted.months]
        top, arrival_bars = _scale([m["arrivals"] for m in months])
        _top, departure_bars = _scale([m["departures"] for m in months] + [top])
        for index, (month, arrival, departure) in enumerate(zip(months, arrival_bars, departure_bars, strict=False)):
            month.update(x=CHART_LEFT + index * CHART_STEP, label_x=index * CHART_STEP + CHART_STEP // 2,
                         arrival_y=CHART_BASE - arrival, arrival_h=arrival,
                         departure_y=CHART_BASE - departure, departure_h=departure)
        rows = [(station, figures[station.pk]) for station in stations]
        total = StationFigures(station_id=0)
        for _station, stats in rows:
            for name in ("residents", "unconfirmed", "overdue", "due_soon", "properties", "waiting", "waiting_old",
                         "reports_year", "late_year", "permits_expiring", "escalated"):
                setattr(total, name, getattr(total, name) + getattr(stats, name))
            for stars, count in stats.stars.items():
                total.stars[stars] = total.stars.get(stars, 0) + count
        star_top = max([*total.stars.values(), 1])
        star_rows = [(stars, count, round(100 * count / star_top)) for stars, count in
                     sorted(total.stars.items(), reverse=True)]
        period = WorkloadPeriodForm(request.GET or None)
        until = today
        since = today - datetime.timedelta(days=WORKLOAD_DAYS - 1)
        if period.is_valid():
            since = period.cleaned_data.get("since") or since
            until = period.cleaned_data.get("until") or until
        if since > until:
            since, until = until, since
        return render(request, "dashboard.html", {
            "period": period, "since": since, "until": until,
            "workload": staff_workload([s.pk for s in stations], since, until),
            "today": today, "rows": rows, "total": total, "single": len(stations) == 1,
            "station": stations[0] if len(stations) == 1 else None,
            "months": months, "chart_top": top, "star_rows": star_rows,
            "chart_width": CHART_LEFT + CHART_STEP * len(months), "chart_base": CHART_BASE,
            "chart_left": CHART_LEFT,
            # Values on the axis: none, half the tallest bar, the tallest.
            "chart_ticks": [{"value": value, "y": CHART_BASE - round(CHART_HEIGHT * value / top)}
                            for value in sorted({0, top // 2, top})],
            "can_choose": len(stations) > 1 or bool(chosen),
            "counted_at": counted.counted_at, "cached": counted.cached, "chosen": chosen or "",
            "links": residence_links(today, chosen or ""),
            # Supervisors: access flags waiting for their review (oversight), as on their home page.
            "flags_open": (AccessFlag.objects.visible_to(request.user).filter(status=FlagStatusChoices.OPEN).count()
                           if request.user.has_perm("oversight.view_accessflag") else None),
            "station_links": {station.pk: residence_links(today, str(station.pk)) for station, _stats in rows},
        })


WORKLOAD_DAYS = 30


class WorkloadPeriodForm(BootstrapFormMixin, forms.Form):
    since = forms.DateField(label=_("From"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    until = forms.DateField(label=_("To"), required=False, widget=forms.DateInput(attrs={"type": "date"}))


def residence_links(today, station: str) -> dict:
    """Where each residents figure leads: the residences page with the figure's own filter (a test checks,
    figure by figure, that the page counts what the figure says)."""
    base = reverse("residences:list")
    prefix = f"station={station}&" if station else ""
    week = today + datetime.timedelta(days=7)
    return {
        "residents": f"{base}?{prefix}current=true",
        "unconfirmed": f"{base}?{prefix}status=unconfirmed",
        "overdue": f"{base}?{prefix}current=true&due_until={today - datetime.timedelta(days=1)}",
        "due_soon": f"{base}?{prefix}current=true&due_from={today}&due_until={week}",
        "permits_expiring": f"{reverse('patrol:permit_list')}?tab=issued&status=expiring"
                            + (f"&station={station}" if station else ""),
    }
