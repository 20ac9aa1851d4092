from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect, render
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST

from registry import audit
from registry.forms import add_service_error
from registry.scoping import get_object_for_user
from registry.views import ScopedDetailView, ScopedListView, StaffPageMixin

from .filtersets import PersonFilterSet
from .forms import PersonCorrectForm, PersonReplaceDocumentForm, UnmaskForm
from .models import Person
from .selectors import person_access_log, person_history
from .services import person_correct, person_replace_document, person_unmask


class PersonListView(ScopedListView):
    model = Person
    filterset_class = PersonFilterSet
    template_name = "persons/person_list.html"

    def get_base_queryset(self):
        return Person.objects.select_related("registered_station").only(
            "id", "name", "sex", "birth_date", "document_type", "document_number", "phone",
            "registered_station__name",
        )


class PersonDetailView(ScopedDetailView):
    model = Person
    template_name = "persons/person_detail.html"

    def get_base_queryset(self):
        return Person.objects.select_related("registered_station")

    def get_object(self, queryset=None):
        person = super().get_object(queryset)
        audit.record_view(self.request.user, person, via="web")
        return person

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.setdefault("unmask_form", UnmaskForm())
        # Residences, permits and visits come from the apps that hold them (registry.views.detail_context).
        context["employments"] = (self.object.employments.visible_to(self.request.user).select_related("employer")
                                  .order_by("-start_date"))
        context.update(person_access_log(self.request.user, self.object))
        context["history"] = person_history(self.object)
        return context


@method_decorator(require_POST, name="dispatch")
class PersonUnmaskView(PersonDetailView):
    """Show the full document number once, after a stated reason; the unmasking is audited."""

    def post(self, request, *args, **kwargs):
        self.object = self.get_object()
        form = UnmaskForm(request.POST)
        context = {"unmask_form": form}
        if form.is_valid():
            try:
                context["unmasked_number"] = person_unmask(
                    user=request.user, person=self.object, reason=form.cleaned_data["reason"], via="web")
            except ValidationError as exc:
                form.add_error(None, exc)
            except PermissionDenied:
                raise
        return self.render_to_response(self.get_context_data(**context))

    def get_object(self, queryset=None):
        # The unmask event is the record of this read; don't count a second "view".
        return ScopedDetailView.get_object(self, queryset)


class PersonEditView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """A form on one person in the user's scope (404 outside it), for staff and officers (``change_person``).
    The form carries the version it was opened at; the service refuses it if someone saved in between."""

    permission_required = "persons.change_person"
    form_class = None
    template_name = None

    def person(self) -> Person:
        return get_object_for_user(Person.objects.select_related("registered_station"), self.request.user,
                                   pk=self.kwargs["pk"])

    def get(self, request, pk):
        person = self.person()
        return self.render(person, self.form_class(person=person))

    def post(self, request, pk):
        person = self.person()
        form = self.form_class(request.POST, person=person)
        if form.is_valid():
            try:
                # The service works on a copy: the page keeps the saved values while it shows the errors.
                self.perform(Person.objects.select_related("registered_station").get(pk=person.pk), form)
            except ValidationError as exc:
                add_service_error(form, exc)
            else:
                messages.success(request, self.success_message())
                return redirect("persons:person_detail", person.pk)
        return self.render(person, form)

    def render(self, person, form):
        return render(self.request, self.template_name, {"person": person, "form": form})


class PersonCorrectView(PersonEditView):
    """Correct a person's name, phone, place of household registration and occupation (and, for a passport,
    the birth date and sex), with a required reason."""

    form_class = PersonCorrectForm
    template_name = "persons/person_correct.html"

    def perform(self, person, form):
        person_correct(person=person, reason=form.cleaned_data["reason"],
                       expected_version=form.cleaned_data["version"], **form.changes())

    def success_message(self):
        return _("The details are corrected; the change and its reason are kept in the record's history.")


class PersonReplaceDocumentView(PersonEditView):
    """A new identity document for the same person: a new passport, a permit exchanged for an ID card."""

    form_class = PersonReplaceDocumentForm
    template_name = "persons/person_replace_document.html"

    def perform(self, person, form):
        data = form.cleaned_data
        person_replace_document(person=person, document_type=data["document_type"],
                                document_number=data["document_number"], document_country=data["document_country"],
                                reason=data["reason"], expected_version=data["version"])

    def success_message(self):
        return _("The document is replaced; the person, their registrations and their history are kept.")
