from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Q
from django.shortcuts import render
from django.views import View

from housing.models import Landlord, Property
from persons.models import Person
from persons.selectors import classify, document_condition, person_search

from .scoping import scope_for

OTHER_RESULTS = 10


class SearchView(LoginRequiredMixin, View):
    """One search box for persons, properties and landlords; ranked, masked, paginated, scoped."""

    def get(self, request):
        if scope_for(request.user).is_empty or not request.user.has_perm("persons.view_person"):
            raise PermissionDenied
        raw = request.GET.get("q", "").strip()[:100]
        context = {"q": raw}
        if raw:
            user = request.user
            persons = person_search(
                Person.objects.visible_to(user).select_related("registered_station").only(
                    "id", "name", "sex", "birth_date", "document_number", "phone", "registered_station__name"),
                raw)
            context["page_obj"] = Paginator(persons, 20).get_page(request.GET.get("page"))
            query = classify(raw)
            text = query.text
            properties = Property.objects.visible_to(user).select_related("community")
            property_match = Q(address__icontains=raw) | Q(registration_number__iexact=raw)
            context["properties"] = properties.filter(property_match).order_by("address")[:OTHER_RESULTS]
            landlord_match = Q(name__startswith=raw) | Q(phone__endswith=text)
            if query.kind == "pinyin":
                landlord_match |= Q(name_initials__startswith=text) | Q(name_pinyin__startswith=text)
            if query.kind == "document":
                landlord_match |= document_condition(Landlord, text)
            context["landlords"] = Landlord.objects.visible_to(user).filter(landlord_match).order_by(
                "name_pinyin")[:OTHER_RESULTS]
        template = "search_results.html" if getattr(request, "htmx", False) else "search.html"
        return render(request, template, context)
