"""Deregister and correct a registration; both keep the history (the audit trail holds old values)."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.utils.translation import gettext_lazy as _
from django.views import View

from registry.forms import add_service_error
from registry.scoping import get_object_for_user

from .forms_residence import ResidenceCorrectForm, ResidenceEndForm
from .models import Residence
from .services import residence_correct, residence_end


class ResidenceActionView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "housing.change_residence"
    form_class = None
    template_name = None

    def residence(self):
        queryset = Residence.objects.select_related("person", "unit__property__community")
        return get_object_for_user(queryset, self.request.user, pk=self.kwargs["pk"])

    def get(self, request, pk):
        residence = self.residence()
        return self.render(residence, self.form_class(initial=self.initial(residence)))

    def post(self, request, pk):
        residence = self.residence()
        form = self.form_class(request.POST)
        if form.is_valid():
            try:
                self.perform(residence, form.cleaned_data)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, self.success_message % {"name": residence.person.name})
                return redirect("persons:person_detail", residence.person_id)
        return self.render(residence, form)

    def render(self, residence, form):
        return render(self.request, self.template_name, {"residence": residence, "form": form})


class ResidenceEndView(ResidenceActionView):
    form_class = ResidenceEndForm
    template_name = "housing/residence_end.html"
    success_message = _("%(name)s is deregistered; the registration is kept in their history.")

    def initial(self, residence):
        return {"version": residence.version}

    def perform(self, residence, data):
        residence_end(residence=residence, end_date=data["end_date"], end_reason=data["end_reason"],
                      note=data["note"], expected_version=data["version"])


class ResidenceCorrectView(ResidenceActionView):
    form_class = ResidenceCorrectForm
    template_name = "housing/residence_correct.html"
    success_message = _("The registration of %(name)s is corrected; the old values stay in the audit trail.")

    def initial(self, residence):
        return {"start_date": residence.start_date, "end_date": residence.end_date, "reason": residence.reason,
                "version": residence.version}

    def perform(self, residence, data):
        changes = {k: data[k] for k in ("start_date", "reason") if data[k] != getattr(residence, k)}
        if residence.end_date and data["end_date"] and data["end_date"] != residence.end_date:
            changes["end_date"] = data["end_date"]
        residence_correct(residence=residence, reason_for_change=data["reason_for_change"],
                          expected_version=data["version"], **changes)
