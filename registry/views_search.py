from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, Window
from django.shortcuts import render
from django.views import View

from housing.models import Landlord, Property
from persons.models import Person
from persons.selectors import classify, document_condition, person_search

from .scoping import scope_for

OTHER_RESULTS = 10
PAGE_SIZE = 20


# Kinds whose matches come straight from a selective index (a hash, a phone number): read the rows at once.
SELECTIVE_KINDS = {"document", "phone", "digits"}
NUMBER_KINDS = {"document", "phone"}  # an ID number or a whole mobile number
PAGE_COLUMNS = ("id", "name", "sex", "birth_date", "document_number", "phone", "registered_station__name")


def person_page(user, raw: str, page_number) -> Page:
    """A page of the persons matching ``raw`` that ``user`` may see, best first, with the total.

    One query reads the page and the total (a window count). For names and pinyin it reads only ids,
    from the search indexes without touching the table where an index covers the search (a surname
    matches 7% of a city), and a second query reads the page's rows; a document number or a phone
    number is selective enough to read the rows at once. A page past the end shows the last page,
    like ``Paginator.get_page``.
    """
    matches = person_search(Person.objects.visible_to(user), raw)
    if not matches.query.order_by:
        matches = matches.order_by(*Person._meta.ordering)
    selective = classify(raw).kind in SELECTIVE_KINDS
    counted = matches.annotate(total=Window(Count("pk")))
    if selective:
        counted = counted.select_related("registered_station").only(*PAGE_COLUMNS)
    else:
        counted = counted.values_list("pk", "total")
    try:
        number = max(int(page_number or 1), 1)
    except (TypeError, ValueError):
        number = 1
    rows = list(counted[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    if not rows and number > 1:
        number = max((matches.count() + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        rows = list(counted[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    paginator = Paginator([], PAGE_SIZE)
    if selective:
        paginator.count = rows[0].total if rows else 0
        return Page(rows, number, paginator)
    paginator.count = rows[0][1] if rows else 0
    # The ids came through the user's scope above; the rows are read by id.
    found = Person.objects.select_related("registered_station").only(*PAGE_COLUMNS).in_bulk(
        [pk for pk, _total in rows])
    return Page([found[pk] for pk, _total in rows if pk in found], number, paginator)


class SearchView(LoginRequiredMixin, View):
    """One search box for persons, properties and landlords; ranked, masked, paginated, scoped."""

    def get(self, request):
        if scope_for(request.user).is_empty or not request.user.has_perm("persons.view_person"):
            raise PermissionDenied
        raw = request.GET.get("q", "").strip()[:100]
        context = {"q": raw}
        if raw:
            user = request.user
            context["page_obj"] = person_page(user, raw, request.GET.get("page"))
            query = classify(raw)
            text = query.text
            properties = Property.objects.visible_to(user).select_related("community")
            property_match = Q(registration_number__iexact=raw)
            if query.kind not in NUMBER_KINDS:
                # An address is read row by row (every property of a station: 4,000 in a city of a
                # million); an ID or mobile number is never part of one.
                property_match |= Q(address__icontains=raw)
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
