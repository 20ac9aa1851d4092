"""Station staff pages for employers: list, detail (employees and dormitories), create, edit."""

from django.core.paginator import Paginator
from django.db.models import Exists, OuterRef
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from registry.lookups import count_of
from registry.views import ScopedDetailView, ScopedListView, StaffCreateView, StaffPageMixin, StaffUpdateView

from .filtersets import EmployerFilterSet
from .forms_employer import EmployerForm
from .models import Employer, Employment, Person

EMPLOYEES_PER_PAGE = 50


class EmployerListView(StaffPageMixin, ScopedListView):
    model = Employer
    filterset_class = EmployerFilterSet
    template_name = "persons/employer_list.html"

    def get_base_queryset(self):
        return Employer.objects.only(
            "id", "name", "uscc", "address", "contact_name", "contact_phone", "user_id",
        ).annotate(
            # Dormitories are housing's: it adds their count (registry.views.list_annotations).
            employee_count=count_of(Employment.objects.filter(end_date__isnull=True), "employer"),
        )


class EmployerDetailView(StaffPageMixin, ScopedDetailView):
    model = Employer
    template_name = "persons/employer_detail.html"

    def get_base_queryset(self):
        return Employer.objects.select_related("station")

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        user, employer = self.request.user, self.object
        # The dormitories come from housing (registry.views.detail_context).
        # An employee may live and be registered elsewhere: link to their page only where the user may see it.
        employees = (
            Employment.objects.visible_to(user)
            .filter(employer=employer, end_date__isnull=True)
            .select_related("person")
            .only("id", "job_title", "start_date", "person__id", "person__name", "person__document_number")
            .annotate(person_visible=Exists(Person.objects.visible_to(user).filter(pk=OuterRef("person_id"))))
            .order_by("person__name_pinyin", "id")
        )
        context["employees_page"] = Paginator(employees, EMPLOYEES_PER_PAGE).get_page(self.request.GET.get("page"))
        return context


class EmployerCreateView(StaffCreateView):
    model = Employer
    form_class = EmployerForm
    permission_required = "persons.add_employer"
    template_name = "persons/employer_form.html"
    success_message = _("Employer added: %(name)s.")

    def get_success_url(self):
        return reverse("persons:employer_detail", args=[self.object.pk])


class EmployerUpdateView(StaffUpdateView):
    model = Employer
    form_class = EmployerForm
    permission_required = "persons.change_employer"
    template_name = "persons/employer_form.html"
    success_message = _("Employer saved: %(name)s.")

    def get_success_url(self):
        return reverse("persons:employer_detail", args=[self.object.pk])
