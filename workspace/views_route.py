"""``/route/``: the route list, the day's verifications due by community and property, to plan the visits and
print (issue 17, point 6). Each property links to recording its visit: one tap per property on a phone."""

import datetime

from django import forms
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied
from django.shortcuts import render
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django.views import View

from registry.forms import BootstrapFormMixin
from registry.models import Station
from registry.scoping import scope_for

from .route import DUE_SOON_DAYS, due_by_property


class RouteForm(BootstrapFormMixin, forms.Form):
    until = forms.DateField(label=_("Due by"), required=False, widget=forms.DateInput(attrs={"type": "date"}))
    station = forms.ModelChoiceField(label=_("Station"), queryset=Station.objects.none(), required=False)

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["station"].queryset = Station.objects.visible_to(user).order_by("code")


class RouteView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "housing.view_residence"

    def get(self, request):
        scope = scope_for(request.user)
        if not (scope.is_global or scope.station_ids):
            raise PermissionDenied
        today = timezone.localdate()
        form = RouteForm(request.GET or None, user=request.user)
        until, station = today + datetime.timedelta(days=DUE_SOON_DAYS), None
        if form.is_valid():
            until = form.cleaned_data.get("until") or until
            station = form.cleaned_data.get("station")
        communities, total = due_by_property(request.user, today=today, until=until,
                                             station_id=station.pk if station else None)
        return render(request, "route.html", {
            "form": form, "communities": communities, "total": total, "today": today, "until": until,
            "station": station, "residents": sum(c.due for c in communities),
            "several_stations": form.fields["station"].queryset.count() > 1,
        })
