"""Reads of persons that are more than a filter: the forgiving search behind the one search box."""

import re
from dataclasses import dataclass
from functools import cached_property

from django.db.models import Case, F, FilteredRelation, IntegerField, Q, QuerySet, Value, When
from django.db.models.functions import Length, Reverse, Substr

from registry.lookups import AnyOf
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices
from registry.scoping import Scope

from .choices import DocumentTypeChoices
from .models import Employer, Person, SearchEntry
from .validators import normalize_document_number

_CJK = re.compile(r"[\u3400-\u9fff\U00020000-\U0003134f]")
_DOCUMENT = re.compile(r"[0-9]{17}[0-9X]|[0-9]{6}\*+[0-9X]{4}")


@dataclass(frozen=True)
class Query:
    """What the user typed, understood: which kinds of match it could be."""

    text: str
    kind: str  # "document", "document_part", "phone", "digits", "name", "pinyin", "text"


def document_condition(model, text: str) -> Q:
    """Exact match on a document number of any type; passports match whatever their country."""
    keys = [model.document_key(t, text) for t in DocumentTypeChoices.values]
    condition = Q(document_hash__in=keys)
    # Passport hashes include the country, unknown here: narrow by the tail hash, then compare numbers.
    passports = model._default_manager.filter(
        document_type=DocumentTypeChoices.PASSPORT, document_tail_hash=model.part_key("tail", text[-4:]),
    ).values_list("pk", "document_number")[:50]
    matching = [pk for pk, number in passports if number == text]
    if matching:
        condition |= Q(pk__in=matching)
    return condition


def classify(raw: str) -> Query:
    text = re.sub(r"\s+", " ", (raw or "").strip())
    compact = normalize_document_number(text)
    if re.fullmatch(r"[0-9]{17}[0-9X]|[0-9]{15}", compact) or re.fullmatch(r"[A-Z]{1,2}[0-9]{6,9}", compact):
        return Query(compact, "document")
    if re.fullmatch(r"1[3-9][0-9]{9}", compact):
        return Query(compact, "phone")
    if re.fullmatch(r"[0-9X]{4,16}", compact):
        return Query(compact, "digits")
    if _CJK.search(text):
        return Query(text, "name")
    if re.fullmatch(r"[A-Za-z ]+", text):
        return Query(text.lower().replace(" ", ""), "pinyin")
    return Query(text, "text")


@dataclass(frozen=True)
class Matches:
    """What a search found: the persons, best first, and (names and pinyin, when there are at most
    ``CANDIDATES`` of them) their ids in that order, already read.

    With ids, ``queryset`` is built only when asked for: filtering by thousands of ids costs a few
    milliseconds of Python that the search page, which slices the ids itself, does not need.
    """

    scoped: QuerySet
    ids: list | None = None
    rank: object = None
    pages: "SurnamePages | None" = None

    @cached_property
    def queryset(self) -> QuerySet:
        if self.pages is not None:
            return self.pages.queryset(self.scoped)
        if self.ids is None:
            return self.scoped
        return self.scoped.filter(AnyOf(F("pk"), self.ids)).annotate(rank=self.rank).order_by(*RANK_ORDER)


@dataclass(frozen=True)
class SurnamePages:
    """A surname (one character) searched in one station: thousands of matches at five million persons, read
    a page at a time from the station's search entries in the order they are shown (pinyin, then id: a name
    of that one character has the shortest pinyin and comes first, as an exact match should). A page and the
    count each cost what the page or the index range costs, not a sort of every match."""

    station_id: int
    text: str

    def entries(self) -> QuerySet:
        return SearchEntry.objects.alias(first=Substr("name", 1, 1)).filter(station_id=self.station_id,
                                                                             first=self.text)

    def count(self) -> int:
        # The station's range of names starting with the character: the planner reads that index alone, where
        # for the first-character expression it may read the station's every name (35 ms at 5M instead of 2).
        return SearchEntry.objects.filter(station_id=self.station_id, name__startswith=self.text).count()

    def ids(self, offset: int, limit: int) -> list:
        return list(self.entries().order_by("name_pinyin", "person_id")
                    .values_list("person_id", flat=True)[offset:offset + limit])

    def queryset(self, scoped: QuerySet) -> QuerySet:
        """The persons of ``scoped`` joined to their entry at the station: any order an index of the entries
        holds (pinyin, or the API's id) is then walked a page at a time."""
        return (scoped.annotate(entry=FilteredRelation("search_entries",
                                                       condition=Q(search_entries__station_id=self.station_id)))
                .alias(entry_first=Substr("entry__name", 1, 1)).filter(entry_first=self.text)
                .order_by("entry__name_pinyin", "id"))


def person_search(queryset: QuerySet[Person], raw: str, *, station_id: int | None = None) -> QuerySet[Person]:
    """Persons in ``queryset`` matching ``raw``, best matches first.

    Understands a full document number (exact, through the keyed hash), the visible parts of one
    (first six or last four characters), a mobile number or its tail, a name or surname in
    characters, and full pinyin or pinyin initials (``zhangs``, ``zs``).

    ``station_id``: ``queryset`` holds (at most) what that station's staff may see; names and pinyin are
    then looked up in the station's own search entries (``SearchEntry``), not among the whole city's.
    """
    return person_matches(queryset, raw, station_id=station_id).queryset


def person_matches(queryset: QuerySet[Person], raw: str, *, station_id: int | None = None) -> Matches:
    """``person_search``, keeping the ordered ids of a name or pinyin search (the search page pages them)."""
    query = classify(raw)
    if not query.text:
        return Matches(queryset)
    text = query.text
    if query.kind == "document":
        return Matches(queryset.filter(document_condition(queryset.model, text)))
    if query.kind == "phone":
        return Matches(queryset.filter(phone=text))
    if query.kind == "digits":
        # The end of a mobile number is the start of it reversed: one index range (migration 0008).
        condition = Q(phone_reversed__startswith=text[::-1])
        if len(text) == 4:
            condition |= Q(document_tail_hash=Person.part_key("tail", text))
        if len(text) == 6:
            condition |= Q(document_head_hash=Person.part_key("head", text))
        # Ids first, as for names. Left as one query ordered by pinyin, PostgreSQL misjudged some
        # suffixes ("8887": 5,000 matches expected, 90 found at 1M) and walked the pinyin index through
        # every row hoping to meet a page of them early: 1.7 s instead of 1.
        return _candidates(queryset, [({"phone_reversed": Reverse("phone")}, condition)],
                           Value(50, output_field=IntegerField()))
    entries = None
    if station_id is not None and query.kind in ("name", "pinyin"):
        if query.kind == "name" and len(text) == 1:
            return Matches(queryset, pages=SurnamePages(station_id, text))
        entries = SearchEntry.objects.filter(station_id=station_id)
    if query.kind == "name":
        rank = Case(
            When(name=text, then=Value(100)),
            When(name__startswith=text, then=Value(80)),
            default=Value(50),
            output_field=IntegerField(),
        )
        branches = _name_branches(text) if entries is None or len(text) < 3 else _station_infix_branches(text)
        return _candidates(queryset, branches, rank, entries=entries)
    if query.kind == "pinyin":
        rank = Case(
            When(name_pinyin=text, then=Value(100)),
            When(name_initials=text, then=Value(90)),
            When(name_pinyin__startswith=text, then=Value(70)),
            default=Value(50),
            output_field=IntegerField(),
        )
        branches = [Q(name_pinyin__startswith=text), Q(name_initials__startswith=text), *_mixed_pinyin(text)]
        return _candidates(queryset, branches, rank, entries=entries)
    return Matches(queryset.filter(name__icontains=text))


LONG_NAME = 5  # characters: a two-character fragment may start past the third character only in these


RANK_ORDER = ("-rank", "name_pinyin", "id")
CANDIDATES = 10_000  # matches in scope read as a list of ids first; more than this stay a subquery


def _candidates(queryset: QuerySet, branches: list, rank, *, entries: QuerySet | None = None) -> Matches:
    """The matches of ``branches`` in ``queryset``, best first, found first, by id.

    The ids in scope, in rank order, come from the search indexes alone (see ``_any_of``); the rows are
    then read by primary key. Left as one query, PostgreSQL sometimes walks the whole table in the
    caller's order (the API pages by ``-id``) hoping to meet 50 matches early, and a station with fewer
    matches than a page makes it read every row (a three-character infix: 190 ms instead of 5 at 1M).

    With ``entries`` (a station's ``SearchEntry`` rows, which hold the same name columns) the branches
    are matched there, from indexes led by the station, instead of among every person in the city.
    """
    if entries is not None:
        return _station_candidates(queryset, entries, branches, rank)
    matched = _any_of(queryset, branches).annotate(rank=rank)
    if len(branches) == 1:
        # One index range (a surname: 73,000 entries in a city): sorted here, not in SQL. With ORDER BY
        # the planner costs the whole range and JIT-compiles the query (8 ms); with LIMIT alone it does
        # not. A UNION of branches keeps ORDER BY: with LIMIT alone the planner may walk the table.
        found = list(matched.order_by().values_list("pk", "rank", "name_pinyin")[:CANDIDATES + 1])
        ids = _ranked(found)
    else:
        ids = list(matched.order_by(*RANK_ORDER).values_list("pk", flat=True)[:CANDIDATES + 1])
    if len(ids) > CANDIDATES:
        return Matches(matched.order_by(*RANK_ORDER))
    return Matches(queryset, ids, rank)


def _ranked(found: list) -> list:
    """Ids of ``(id, rank, pinyin)`` rows in ``RANK_ORDER``."""
    return [pk for pk, _rank, _pinyin in sorted(found, key=lambda row: (-row[1], row[2], row[0]))]


def _station_candidates(queryset: QuerySet, entries: QuerySet, branches: list, rank) -> Matches:
    """``_candidates`` from one station's entries: each branch reads its rows' person, rank and pinyin from its
    own index range, and the UNION of them is all there is to read (no second pass over the entries, which
    PostgreSQL answered by hashing the station's every entry: 120,000 at 5M)."""
    parts = [entries.order_by().alias(**aliases).filter(condition).annotate(rank=rank)
             .values_list("person_id", "rank", "name_pinyin") for aliases, condition in
             (b if isinstance(b, tuple) else ({}, b) for b in branches)]
    found = list((parts[0].union(*parts[1:]) if len(parts) > 1 else parts[0])[:CANDIDATES + 1])
    if len(found) > CANDIDATES:
        matched = queryset.filter(pk__in=_any_of(entries, branches, key="person_id").values("person_id"))
        return Matches(matched.annotate(rank=rank).order_by(*RANK_ORDER))
    return Matches(queryset, _ranked(found), rank)


def _any_of(queryset: QuerySet, branches: list, *, key: str = "pk") -> QuerySet:
    """``queryset`` narrowed to rows matching any of ``branches`` (each a Q, or ``(aliases, Q)``).

    With several branches the matching ids are a UNION of one query per branch, each narrowed to
    ``queryset`` (the user's scope) itself: on PostgreSQL each is then an index-only range scan of its
    own covering index (migration 0005), where one OR of them would read every candidate row from the
    table (a pinyin prefix like ``wy`` has 20,000 candidates in a city, a few hundred in a station).
    """
    branches = [b if isinstance(b, tuple) else ({}, b) for b in branches]
    if len(branches) == 1:
        aliases, condition = branches[0]
        return queryset.alias(**aliases).filter(condition)
    base = queryset.order_by()
    parts = [base.alias(**aliases).filter(condition).values(key) for aliases, condition in branches]
    return queryset.filter(**{f"{key}__in": parts[0].union(*parts[1:])})


def _name_branches(text: str) -> list:
    """Names starting with ``text`` or, from two characters on, containing it; each branch indexable.

    One character is a surname: prefix only. Three or more: a plain infix, which PostgreSQL's trigram
    index serves. Two characters are too short for trigrams, so "contains" is spelled out as "starts
    at character 1, 2 or 3, or lies anywhere in a long name", each with its own index (migrations 0004-5).
    """
    if len(text) == 1:
        return [Q(name__startswith=text)]
    if len(text) >= 3:
        return [Q(name__contains=text)]
    return [Q(name__startswith=text),
            ({"name_from2": Substr("name", 2)}, Q(name_from2__startswith=text)),
            ({"name_from3": Substr("name", 3)}, Q(name_from3__startswith=text)),
            ({"name_length": Length("name")}, Q(name_length__gte=LONG_NAME, name__contains=text))]


def _station_infix_branches(text: str) -> list:
    """Three characters or more within one station's entries: the name itself, or inside a name of four
    characters or more (1-2% of names; a partial index of them, led by the station). In the whole city the
    trigram index serves this, but the rows it finds are the city's matches, read one by one to keep the
    station's (a common fragment such as 阳秀英: thousands at five million persons)."""
    return [Q(name=text), ({"name_length": Length("name")}, Q(name_length__gte=4, name__contains=text))]


def _mixed_pinyin(text: str) -> list[Q]:
    """``zhangs``: a full first syllable followed by initials ("zhang" + "s")."""
    conditions = []
    for cut in range(2, min(len(text), 12)):
        head, tail = text[:cut], text[cut:]
        # name_pinyin starts with the full syllable, initials continue with the tail.
        conditions.append(Q(name_pinyin__startswith=head, name_initials__startswith=head[0] + tail))
    return conditions


ACCESS_LOG_LIMIT = 50


def person_access_log(user, person: Person) -> dict:
    """Who viewed or unmasked the person's record, newest first, for those allowed to see it."""
    if not user.has_perm("persons.view_access_log"):
        return {}
    return {"access_log": AuditEvent.objects.filter(
        object_type=person._meta.label_lower, object_id=str(person.pk),
        action__in=[AuditAction.VIEW, AuditAction.UNMASK],
    ).order_by("-at")[:ACCESS_LOG_LIMIT]}


def employer_scope(user) -> Scope | None:
    """An employer's account sees its own record, its dormitories and its current employees."""
    employer_id = Employer.objects.filter(user=user).values_list("id", flat=True).first()
    return Scope(employer_id=employer_id, role=RoleChoices.EMPLOYER.value,
                 owner_record=Employer._meta.label_lower) if employer_id else None


HISTORY_LIMIT = 50


def person_history(person: Person, *, limit: int = HISTORY_LIMIT) -> list[dict]:
    """The person's corrections, newest first, from the audit trail's update events: when, by which role at
    which station (never a name), the fields changed (by label: the trail holds no personal value in clear) and
    the reason given. Two queries, whatever the number of events."""
    from registry.models import Profile

    events = list(AuditEvent.objects.filter(object_type=person._meta.label_lower, object_id=str(person.pk),
                                            action=AuditAction.UPDATE).order_by("-at", "-pk")[:limit])
    actors = {user_id: (role, station) for user_id, role, station in Profile.objects.filter(
        user_id__in={e.actor_id for e in events if e.actor_id}).values_list("user_id", "role", "station__name")}
    role_labels = dict(RoleChoices.choices)
    labels = {field.attname: field.verbose_name for field in Person._meta.concrete_fields}
    history = []
    for event in events:
        role, station = actors.get(event.actor_id, ("", ""))
        history.append({"at": event.at, "role": role_labels.get(role, ""), "station": station or "",
                        "via": event.via, "reason": event.reason,
                        "fields": [labels[name] for name in event.changes if name in labels]})
    return history
