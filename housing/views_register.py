"""The guided registration flow: document first, then the person (if new), then the unit."""

from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext as _
from django.views import View

from persons.choices import DocumentTypeChoices
from persons.models import Person
from registry.forms import add_service_error

from .forms_register import DocumentLookupForm, MoveHereForm, RegisterPersonForm
from .models import CURRENT_RESIDENCE_STATUSES, Residence, Unit
from .services import person_register


class RegisterView(LoginRequiredMixin, PermissionRequiredMixin, View):
    permission_required = "housing.add_residence"
    template_name = "housing/register.html"

    def get(self, request):
        # "Found someone unregistered" on a visit links here with the unit to pre-select.
        return self.render_step("lookup", DocumentLookupForm(initial={"prefill_unit": request.GET.get("unit", "")}))

    def place_initial(self, form) -> dict:
        """Community, property and unit for step two, from a unit chosen before step one."""
        unit_id = str(form.cleaned_data.get("prefill_unit") or "")
        unit = Unit.objects.visible_to(self.request.user).select_related("property").filter(
            pk=unit_id).first() if unit_id.isdigit() else None
        if unit is None:
            return {}
        return {"community": unit.property.community_id, "property": unit.property_id, "unit": unit.pk}

    def post(self, request):
        step = request.POST.get("step")
        if step == "register":
            return self.submit(RegisterPersonForm(request.POST), step)
        if step == "move":
            return self.submit(MoveHereForm(request.POST), step)
        return self.lookup(DocumentLookupForm(request.POST))

    def lookup(self, form):
        if not form.is_valid():
            return self.render_step("lookup", form)
        doc = {k: form.cleaned_data[k] for k in ("document_type", "document_country", "document_number")}
        existing = Person.objects.visible_to(self.request.user).filter(
            document_type=doc["document_type"], document_hash=form.document_key()).first()
        place = self.place_initial(form)
        if existing is not None:
            return self.render_step("move", MoveHereForm(initial={**doc, **place}), person=existing)
        return self.render_step("register", RegisterPersonForm(initial={**doc, **form.derived_initial(), **place}))

    def submit(self, form, step):
        form.setup_places(self.request.user)
        valid = form.is_valid()
        person = self.known_person(form) if step == "move" else None
        if valid:
            if step == "move" and person is None:  # nothing known under this number: start over
                return self.lookup(DocumentLookupForm(self.request.POST))
            data = form.cleaned_data
            identity = form.identity() if step == "register" else {
                k: data[k] for k in ("document_type", "document_country", "document_number")}
            try:
                residence = person_register(identity=identity, unit=data["unit"], start_date=data["start_date"],
                                            reason=data["reason"], actor=self.request.user,
                                            employer=data.get("employer"))
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                return self.done(residence)
        return self.render_step(step, form, person=person)

    def known_person(self, form):
        data = getattr(form, "cleaned_data", {})
        if not data.get("document_number") or "document_number" in form.errors:
            return None
        return Person.objects.visible_to(self.request.user).filter(
            document_type=data["document_type"], document_hash=form.document_key()).first()

    def done(self, residence: Residence):
        url = reverse("persons:person_detail", args=[residence.person_id])
        messages.success(self.request, format_html(
            _("{name} is registered at {unit} from {date}.") + ' <a href="{url}" class="alert-link">{open}</a> · '
            '<a href="{again}" class="alert-link">{another}</a>',
            name=residence.person.name, unit=str(residence.unit), date=residence.start_date, url=url,
            open=_("Open the record"), again=reverse("persons:register"), another=_("Register another")))
        return redirect(url)

    def render_step(self, step, form, person=None):
        current = None
        if person is not None:
            current = person.residences.filter(status__in=CURRENT_RESIDENCE_STATUSES).select_related(
                "unit__property__community").first()
        if step in ("register", "move"):
            form.setup_places(self.request.user)
        doc_type = form["document_type"].value()
        return render(self.request, self.template_name,
                      {"step": step, "form": form, "person": person, "current_residence": current,
                       "duplicates": getattr(form, "duplicates", []),
                       "document_label": dict(DocumentTypeChoices.choices).get(doc_type, "")})
