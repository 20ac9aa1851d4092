from registry import audit
from registry.views import ScopedDetailView, ScopedListView

from .filtersets import PersonFilterSet
from .models import Person


class PersonListView(ScopedListView):
    model = Person
    filterset_class = PersonFilterSet
    template_name = "persons/person_list.html"

    def get_base_queryset(self):
        return Person.objects.select_related("registered_station").only(
            "id", "name", "sex", "birth_date", "document_type", "document_masked", "phone",
            "registered_station__name",
        )


class PersonDetailView(ScopedDetailView):
    model = Person
    template_name = "persons/person_detail.html"

    def get_object(self, queryset=None):
        person = super().get_object(queryset)
        audit.record_view(self.request.user, person, via="web")
        return person

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context["residences"] = (
            self.object.residences.visible_to(self.request.user)
            .select_related("unit__property__community")
            .order_by("-start_date")
        )
        return context
