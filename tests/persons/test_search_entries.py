"""Each station's search entries are exactly the persons its staff may see (``Person.objects.visible_to``),
with the persons' current name keys, whatever writes the rows: the triggers of persons 0010 and housing 0015.
And a station's search over its entries finds what the search over every person, narrowed to the scope, finds.
"""

import datetime

import pytest

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.services import residence_end
from persons.factories import PersonFactory
from persons.models import Person, SearchEntry
from persons.selectors import person_matches, person_search
from persons.services import persons_anonymise


def _entries(station) -> set:
    return set(SearchEntry.objects.filter(station=station).values_list("person_id", flat=True))


def _visible(user) -> set:
    return set(Person.objects.visible_to(user).values_list("pk", flat=True))


@pytest.fixture
def two_stations(station_a, station_b, staff_a, staff_b, rental_a, rental_b):
    return {"a": (station_a, staff_a, rental_a.units.first()), "b": (station_b, staff_b, rental_b.units.first())}


def _check(two_stations):
    for station, staff, _unit in two_stations.values():
        assert _entries(station) == _visible(staff), station.name


def test_entries_follow_registration_residences_and_their_changes(two_stations):
    (station_a, _staff_a, unit_a), (station_b, _staff_b, unit_b) = two_stations["a"], two_stations["b"]
    local = ResidenceFactory(unit=unit_a).person
    newcomer = ResidenceFactory(unit=unit_b, person=PersonFactory(registered_station=station_a)).person
    unregistered = PersonFactory(registered_station=None)
    _check(two_stations)
    assert _entries(station_a) >= {local.pk, newcomer.pk}
    assert newcomer.pk in _entries(station_b) and local.pk not in _entries(station_b)
    assert unregistered.pk not in SearchEntry.objects.values_list("person_id", flat=True)

    # A first station of registration; a second residence at B; a residence moved to another station.
    unregistered.registered_station = station_b
    unregistered.save()
    second = ResidenceFactory(unit=UnitFactory(property=unit_b.property), person=newcomer, status="ended",
                              end_date=datetime.date.today())
    moved = ResidenceFactory(unit=unit_b, person=PersonFactory(registered_station=station_a))
    _check(two_stations)
    Residence.objects.filter(pk=moved.pk).update(station=station_a, registered_elsewhere=False)
    _check(two_stations)
    assert moved.person_id not in _entries(station_b)

    # Ending a residence keeps the person visible where they lived; deleting one of two keeps the entry,
    # deleting both removes it.
    residence_end(residence=Residence.objects.get(person=newcomer, status="active"),
                  end_date=datetime.date.today())
    _check(two_stations)
    second.delete()
    _check(two_stations)
    assert newcomer.pk in _entries(station_b)
    Residence.objects.filter(person=newcomer).delete()
    _check(two_stations)
    assert newcomer.pk not in _entries(station_b)

    # A station of registration changed: the old station keeps an entry only for a residence there.
    local.registered_station = station_b
    local.save()
    _check(two_stations)
    assert local.pk in _entries(station_b)

    # Deleting a person deletes their entries.
    person_pk = local.pk
    Residence.objects.filter(person=local).delete()
    local.delete()
    assert not SearchEntry.objects.filter(person_id=person_pk).exists()
    _check(two_stations)


def test_entries_carry_the_current_name_keys(two_stations):
    (_station_a, _staff_a, unit_a), (station_b, _staff_b, unit_b) = two_stations["a"], two_stations["b"]
    person = ResidenceFactory(unit=unit_b, person=PersonFactory(name="张三", registered_station=unit_a.property.station)
                              ).person
    person.name = "李四"
    person.save()
    assert set(SearchEntry.objects.filter(person=person).values_list("name", "name_pinyin", "name_initials")) == {
        ("李四", "lisi", "ls")}
    assert SearchEntry.objects.filter(person=person).count() == 2
    persons_anonymise(ids=[person.pk])
    person.refresh_from_db()
    assert set(SearchEntry.objects.filter(person=person).values_list("name", flat=True)) == {person.name}
    assert not SearchEntry.objects.filter(name="李四").exists()
    _check(two_stations)
    assert person.pk in _entries(station_b)


NAMES = ["王", "王芳", "王秀英", "王秀兰", "汪洋", "王大伟", "欧阳秀英", "李王", "上官秀英华", "张三丰", "张森"]


@pytest.mark.parametrize("raw", ["王", "王秀", "秀英", "秀英华", "wang", "wxy", "wangx", "zs", "oyxy", "张"])
def test_a_station_finds_through_its_entries_what_its_scope_holds(raw, two_stations):
    (station_a, staff_a, unit_a), (_station_b, _staff_b, unit_b) = two_stations["a"], two_stations["b"]
    for number, name in enumerate(NAMES):
        ResidenceFactory(unit=unit_a, person=PersonFactory(name=name, registered_station=station_a))
        # Registered at B and living at A: visible to A. Registered and living at B: not.
        ResidenceFactory(unit=unit_a if number % 2 else unit_b, person=PersonFactory(name=name))
    scoped = Person.objects.visible_to(staff_a)
    through_entries = list(person_search(scoped, raw, station_id=station_a.pk).values_list("pk", flat=True))
    through_persons = list(person_search(scoped, raw).values_list("pk", flat=True))
    assert through_entries == through_persons
    assert through_entries, raw


def test_a_surname_is_read_a_page_at_a_time_in_pinyin_order(two_stations):
    station_a, staff_a, unit_a = two_stations["a"]
    for name in ["王五", "王", "王大伟", "王芳", "汪洋", "李王"]:
        ResidenceFactory(unit=unit_a, person=PersonFactory(name=name, registered_station=station_a))
    found = person_matches(Person.objects.visible_to(staff_a), "王", station_id=station_a.pk)
    assert found.pages is not None and found.ids is None
    assert found.pages.count() == 4
    names = dict(Person.objects.values_list("pk", "name"))
    assert [names[pk] for pk in found.pages.ids(0, 2)] == ["王", "王大伟"]
    assert [names[pk] for pk in found.pages.ids(2, 2)] == ["王芳", "王五"]
    assert [p.name for p in found.queryset] == ["王", "王大伟", "王芳", "王五"]
    assert [p.name for p in found.queryset.order_by("-id")] == ["王芳", "王大伟", "王", "王五"]


def test_bulk_writes_keep_the_entries_in_one_statement_each(two_stations):
    """Imports write persons and residences with bulk_create; retention and fixes update and delete querysets.
    On PostgreSQL each statement's trigger sees all its rows at once (transition tables)."""
    (station_a, _staff_a, unit_a), (station_b, _staff_b, unit_b) = two_stations["a"], two_stations["b"]
    built = [PersonFactory.build(name=f"王{n}", registered_station=station_a) for n in "一二三四五六"]
    for person in built:  # what save() would do
        person.sync_document_columns()
        person.sync_name_columns()
    people = Person.objects.bulk_create(built)
    if people[0].pk is None:  # SQLite before 3.35 returns no ids
        people = list(Person.objects.filter(name__in=[f"王{n}" for n in "一二三四五六"]))
    Residence.objects.bulk_create([ResidenceFactory.build(unit=unit_b if i % 2 else unit_a, person=person,
                                                          station=station_b if i % 2 else station_a,
                                                          registered_elsewhere=bool(i % 2))
                                   for i, person in enumerate(people)])
    _check(two_stations)
    assert len(_entries(station_b) & {p.pk for p in people}) == 3
    Person.objects.filter(pk__in=[p.pk for p in people]).update(name="赵六", name_pinyin="zhaoliu",
                                                                name_initials="zl")
    assert set(SearchEntry.objects.filter(person__in=people).values_list("name", flat=True)) == {"赵六"}
    Residence.objects.filter(person__in=people, station=station_b).delete()
    _check(two_stations)
    assert not _entries(station_b) & {p.pk for p in people}
