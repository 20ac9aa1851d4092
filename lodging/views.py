"""The station's guest ledger: every stay at the lodgings in the user's scope, today's guests and who is in now."""

from django.conf import settings
from django.utils import timezone

from registry.views import ScopedListView, StaffPageMixin

from .filtersets import StayFilterSet
from .models import Stay
from .selectors import lodgings_with_guests


class LedgerView(StaffPageMixin, ScopedListView):
    """``/lodging/``: the ledger (``?property=`` for one lodging's), newest arrival first."""

    model = Stay
    filterset_class = StayFilterSet
    template_name = "lodging/ledger.html"
    paginate_by = 50

    def get_base_queryset(self):
        return Stay.objects.select_related("property").order_by("-arrived_at", "-id")

    def get_template_names(self):
        if getattr(self.request, "htmx", False):
            return ["lodging/ledger_rows.html"]
        return [self.template_name]

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        form = self.filterset.form
        context["lodgings"] = list(lodgings_with_guests(self.request.user))
        context["lodging"] = getattr(form, "cleaned_data", {}).get("property")
        context["property_choices"] = [(p.pk, p.address) for p in context["lodgings"]]
        context["now"] = timezone.now()
        context["today_iso"] = timezone.localdate().isoformat()
        context["long_count"] = Stay.objects.visible_to(self.request.user).long().count()
        context["long_days"] = settings.REGISTRY["LODGING_LONG_STAY_DAYS"]
        return context
