"""The search's city-scale paths (issue 7): two-character fragments anywhere in a name, and the
search page that reads its ids and total in one query."""

import pytest
from django.test import Client

from persons.factories import PersonFactory
from persons.models import Person
from persons.selectors import person_search
from workspace.views_search import PAGE_SIZE, person_page


@pytest.fixture
def names(station_a):
    names = ["王英", "李王英", "欧阳英华", "王英华", "阿卜杜拉·王英提", "阿卜杜拉·艾买提王英", "王", "英王"]
    return {name: PersonFactory(name=name, registered_station=station_a) for name in names}


def _names(qs):
    return {p.name for p in qs}


def test_two_characters_match_at_any_position_and_nowhere_else(names):
    assert _names(person_search(Person.objects.all(), "王英")) == {
        "王英", "李王英", "王英华", "阿卜杜拉·王英提", "阿卜杜拉·艾买提王英"}
    assert _names(person_search(Person.objects.all(), "英华")) == {"欧阳英华", "王英华"}
    assert _names(person_search(Person.objects.all(), "阳英")) == {"欧阳英华"}


def test_two_characters_rank_the_exact_name_then_prefixes_first(names):
    ranked = [p.name for p in person_search(Person.objects.all(), "王英")]
    assert ranked[0] == "王英" and ranked[1] == "王英华"


def test_one_character_is_a_surname_prefix_only(names):
    assert _names(person_search(Person.objects.all(), "王")) == {"王英", "王英华", "王"}


def test_the_page_has_the_total_and_the_rows_in_rank_order(names, staff_a):
    page = person_page(staff_a, "王英", None)
    assert page.paginator.count == 5
    assert [p.name for p in page.object_list][:2] == ["王英", "王英华"]


def test_pages_past_the_end_show_the_last_page_and_the_scope_holds(station_a, staff_a, staff_b):
    for n in range(PAGE_SIZE + 3):
        PersonFactory(name=f"张{chr(0x4e00 + n)}", registered_station=station_a)
    last = person_page(staff_a, "张", "9")
    assert last.number == 2 and len(last.object_list) == 3 and last.paginator.count == PAGE_SIZE + 3
    assert person_page(staff_b, "张", None).paginator.count == 0
    assert person_page(staff_a, "张", "x").number == 1


def test_the_search_page_shows_the_total_and_links_each_person(names, staff_a):
    client = Client()
    client.force_login(staff_a)
    response = client.get("/search/", {"q": "王英"}, follow=True)
    assert response.status_code == 200
    text = response.content.decode()
    for name in ("王英", "李王英", "王英华"):
        assert f"/persons/{names[name].pk}/" in text
    assert f"/persons/{names['欧阳英华'].pk}/" not in text


def test_a_document_number_or_a_phone_reads_the_page_in_one_query(names, staff_a, staff_b,
                                                                   django_assert_num_queries):
    target = names["王英华"]
    staff_a.has_perm("persons.view_person")  # the scope and permissions are read once per request anyway
    page = person_page(staff_a, target.document_number, None)
    assert page.paginator.count == 1 and [p.pk for p in page.object_list] == [target.pk]
    assert page.object_list[0].registered_station.name
    with django_assert_num_queries(2):  # the passport check of a number, then the page with its total
        person_page(staff_a, target.document_number, None)
    assert [p.pk for p in person_page(staff_a, target.phone, None).object_list] == [target.pk]
    assert person_page(staff_b, target.document_number, None).paginator.count == 0


def test_the_search_box_still_finds_properties_by_address_and_registration_number(staff_a, community_a):
    from housing.factories import PropertyFactory

    prop = PropertyFactory(community=community_a, address="甲一社区幸福路8号")
    client = Client()
    client.force_login(staff_a)
    for term in ("幸福路", prop.registration_number):
        assert f"/housing/properties/{prop.pk}/" in client.get("/search/", {"q": term}, follow=True).content.decode()


@pytest.mark.parametrize("term", ["王", "wy", "王英"])
def test_more_matches_than_candidates_give_the_same_pages_and_api_order(term, station_a, staff_a, monkeypatch):
    """Above ``CANDIDATES`` matches the ids are not read first; the page, its total and the API's order
    must not change with that."""
    from persons import selectors

    for n in range(7):
        PersonFactory(name=["王英", "王英华", "王一", "吴英"][n % 4], registered_station=station_a)
    def pages():
        return [([p.pk for p in person_page(staff_a, term, number).object_list],
                 person_page(staff_a, term, number).paginator.count) for number in (1, 2)]

    def api_order():
        return list(selectors.person_matches(Person.objects.visible_to(staff_a), term).queryset
                    .values_list("pk", flat=True))

    few, api_few = pages(), api_order()
    monkeypatch.setattr(selectors, "CANDIDATES", 2)
    assert selectors.person_matches(Person.objects.visible_to(staff_a), term).ids is None
    many, api_many = pages(), api_order()
    assert few == many and api_few == api_many and few[0][1] > 2


def test_the_end_of_a_phone_or_document_number_reads_ids_first_in_pinyin_order(station_a, staff_a, staff_b):
    """The last digits of a phone number (or of an ID number) are found by id first, like names: as one
    query ordered by pinyin, PostgreSQL could walk the whole table for a suffix it misjudged (issue 7)."""
    from persons import selectors

    ends = [PersonFactory(name=name, phone=f"138000{n}8887", registered_station=station_a)
            for n, name in enumerate(["赵六", "阿强", "王五"])]
    PersonFactory(name="钱七", phone="13900008886", registered_station=station_a)
    by_pinyin = [p.pk for p in sorted(ends, key=lambda p: (p.name_pinyin, p.pk))]
    found = selectors.person_matches(Person.objects.visible_to(staff_a), "8887")
    assert found.ids == by_pinyin
    assert list(found.queryset.values_list("pk", flat=True)) == by_pinyin
    page = person_page(staff_a, "8887", None)
    assert [p.pk for p in page.object_list] == by_pinyin and page.paginator.count == 3
    document_tail = ends[0].document_number[-4:]
    assert ends[0].pk in selectors.person_matches(Person.objects.visible_to(staff_a), document_tail).ids
    assert person_page(staff_b, "8887", None).paginator.count == 0
