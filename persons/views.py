from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.decorators import method_decorator
from django.views.decorators.http import require_POST

from registry import audit
from registry.views import ScopedDetailView, ScopedListView

from .filtersets import PersonFilterSet
from .forms import UnmaskForm
from .models import Person
from .selectors import person_access_log
from .services import person_unmask


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
