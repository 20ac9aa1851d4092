from django.contrib.auth.mixins import LoginRequiredMixin
from django.core.exceptions import PermissionDenied
from django.core.paginator import Page, Paginator
from django.db.models import Count, Q, Window
from django.shortcuts import render
from django.views import View

from housing.models import Landlord, Property
from lodging.filtersets import StayFilterSet
from lodging.models import Stay
from persons.models import Person
from persons.selectors import classify, document_condition, person_matches
from registry.scoping import scope_for

OTHER_RESULTS = 10
PAGE_SIZE = 20


# Kinds whose matches come straight from a selective index (a hash, a phone number): read the rows at once.
SELECTIVE_KINDS = {"document", "phone", "digits"}
NUMBER_KINDS = {"document", "phone"}  # an ID number or a whole mobile number
PAGE_COLUMNS = ("id", "name", "sex", "birth_date", "document_number", "phone", "registered_station__name")


def person_page(user, raw: str, page_number) -> Page:
    """A page of the persons matching ``raw`` that ``user`` may see, best first, with the total.

    A surname searched in one station reads its count and its page's ids from the station's search entries.
    A name, pinyin or number-ending search has already read its ids in rank order (up to
    ``persons.selectors.CANDIDATES``): the page is a slice of them, and one query reads its 20 rows. A
    document or phone number reads its page and the total (a window count) in one query; so does a
    search with more matches than that, reading ids first. A page past the end shows the last page,
    like ``Paginator.get_page``.
    """
    found = person_matches(Person.objects.visible_to(user), raw, station_id=scope_for(user).single_station_id)
    try:
        number = max(int(page_number or 1), 1)
    except (TypeError, ValueError):
        number = 1
    paginator = Paginator([], PAGE_SIZE)
    if found.pages is not None:
        paginator.count = found.pages.count()
        number = min(number, paginator.num_pages)
        return Page(_rows(found.scoped, found.pages.ids((number - 1) * PAGE_SIZE, PAGE_SIZE)), number, paginator)
    if found.ids is not None:
        paginator.count = len(found.ids)
        number = min(number, paginator.num_pages)
        return Page(_rows(found.scoped, found.ids[(number - 1) * PAGE_SIZE:number * PAGE_SIZE]), number, paginator)
    matches = found.queryset
    if not matches.query.order_by:
        matches = matches.order_by(*Person._meta.ordering)
    selective = classify(raw).kind in SELECTIVE_KINDS
    counted = matches.annotate(total=Window(Count("pk")))
    if selective:
        counted = counted.select_related("registered_station").only(*PAGE_COLUMNS)
    else:
        counted = counted.values_list("pk", "total")
    rows = list(counted[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    if not rows and number > 1:
        number = max((matches.count() + PAGE_SIZE - 1) // PAGE_SIZE, 1)
        rows = list(counted[(number - 1) * PAGE_SIZE:number * PAGE_SIZE])
    if selective:
        paginator.count = rows[0].total if rows else 0
        return Page(rows, number, paginator)
    paginator.count = rows[0][1] if rows else 0
    return Page(_rows(found.scoped, [pk for pk, _total in rows]), number, paginator)


def _rows(scoped, ids: list) -> list:
    """The persons with these ids, in this order. The ids came through the user's scope (a station's search
    entries are its scope, kept by triggers); the rows are read through it again all the same."""
    found = scoped.select_related("registered_station").only(*PAGE_COLUMNS).in_bulk(ids)
    return [found[pk] for pk in ids if pk in found]


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
            # Registration numbers are stored upper-case: an exact match uses their unique index, whatever the
            # text looks like ("1305-0000042" reads like a mobile number). Addresses are read row by row (every
            # property of a station: 4,000 in a city of a million): not for an ID or mobile number, which is
            # never part of one, and not for a single character, which nearly every address contains.
            property_match = Q(registration_number=raw.upper())
            if query.kind not in NUMBER_KINDS and len(raw) >= 2:
                property_match |= Q(address__icontains=raw)
            # The ids first, from the (station, address) index alone; then those few rows.
            ids = list(Property.objects.visible_to(user).filter(property_match).order_by("address")
                       .values_list("pk", flat=True)[:OTHER_RESULTS])
            context["properties"] = (Property.objects.visible_to(user).select_related("community")
                                     .filter(pk__in=ids).order_by("address") if ids else [])
            if query.kind == "document":
                landlord_match = document_condition(Landlord, text)
            elif query.kind in ("phone", "digits"):
                landlord_match = Q(phone__endswith=text)
            else:  # names: a phone number is digits only
                landlord_match = Q(name__startswith=raw)
            if query.kind == "pinyin":
                landlord_match |= Q(name_initials__startswith=text) | Q(name_pinyin__startswith=text)
            context["landlords"] = Landlord.objects.visible_to(user).filter(landlord_match).order_by(
                "name_pinyin")[:OTHER_RESULTS]
            if user.has_perm("lodging.view_stay") and query.kind in ("document", "name", "pinyin"):
                # Lodging guests by document number or name, as the ledger's own search finds them.
                stays = StayFilterSet({"q": raw}, queryset=Stay.objects.visible_to(user), request=request,
                                       checks_only=True).qs
                context["stays"] = stays.select_related("property").order_by("-arrived_at", "-id")[:OTHER_RESULTS]
                context["stays_shown"] = True
        template = "search_results.html" if getattr(request, "htmx", False) else "search.html"
        return render(request, template, context)
