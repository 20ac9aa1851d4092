import pytest

from persons.factories import PersonFactory
from persons.models import Person
from persons.selectors import classify, person_search


@pytest.fixture
def people(station_a):
    names = ["张三", "张三丰", "张森", "李张", "王小明", "欧阳娜娜", "阿卜杜拉·艾买提", "𠮷野家"]
    return {name: PersonFactory(name=name, registered_station=station_a) for name in names}


def _names(qs):
    return [p.name for p in qs]


@pytest.mark.parametrize(("raw", "kind"), [
    ("110101199003070014", "document"), ("11010119900307001x", "document"), ("13812345678", "phone"),
    ("5678", "digits"), ("张", "name"), ("zs", "pinyin"), ("Zhang San", "pinyin"), ("#!", "text"),
])
def test_classify_understands_what_was_typed(raw, kind):
    assert classify(raw).kind == kind


def test_surname_only_finds_every_zhang_with_exact_and_prefix_first(people):
    assert _names(person_search(Person.objects.all(), "张"))[:3] == ["张三", "张三丰", "张森"]
    # One character is a surname: prefix only, so 李张 is not a "张" match.
    assert "李张" not in _names(person_search(Person.objects.all(), "张"))


def test_full_name_ranks_the_exact_match_first(people):
    assert _names(person_search(Person.objects.all(), "张三")) == ["张三", "张三丰"]


def test_two_character_infix_matches(people):
    assert _names(person_search(Person.objects.all(), "阳娜")) == ["欧阳娜娜"]


def test_pinyin_initials_and_mixed_pinyin(people):
    assert set(_names(person_search(Person.objects.all(), "zs"))) == {"张三", "张森", "张三丰"}
    assert _names(person_search(Person.objects.all(), "zs"))[0] in {"张三", "张森"}
    assert set(_names(person_search(Person.objects.all(), "zhangs"))) == {"张三", "张森", "张三丰"}
    assert _names(person_search(Person.objects.all(), "zhangsan"))[0] == "张三"
    assert _names(person_search(Person.objects.all(), "oyn")) == ["欧阳娜娜"]


def test_names_outside_the_basic_plane_are_found(people):
    assert _names(person_search(Person.objects.all(), "𠮷")) == ["𠮷野家"]
    assert _names(person_search(Person.objects.all(), "阿卜杜拉")) == ["阿卜杜拉·艾买提"]


def test_full_document_number_finds_exactly_one(people):
    target = people["王小明"]
    assert list(person_search(Person.objects.all(), target.document_number.lower())) == [target]


def test_visible_parts_of_a_document_number_and_phone_tail(people):
    target = people["王小明"]
    assert target in person_search(Person.objects.all(), target.document_number[-4:])
    assert target in person_search(Person.objects.all(), target.phone[-4:])
    assert list(person_search(Person.objects.all(), target.phone)) == [target]


def test_search_never_crosses_the_scope(people, staff_b):
    assert not person_search(Person.objects.visible_to(staff_b), "张").exists()


def test_a_passport_number_finds_its_holder_whatever_the_country(station_a):
    holder = PersonFactory(document_type="passport", document_country="KOR", document_number="M12345678",
                           registered_station=station_a, sex="F", birth_date="1990-01-01")
    assert list(person_search(Person.objects.all(), "m12345678")) == [holder]
    assert not person_search(Person.objects.all(), "M12345679").exists()
