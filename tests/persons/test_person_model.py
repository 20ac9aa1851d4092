"""Person.full_clean(): the document agrees with birth date and sex, one person per document, pinyin."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from stdnum.iso7064 import mod_11_2

from persons.choices import DocumentTypeChoices, SexChoices
from persons.factories import PersonFactory
from persons.identity import make_resident_id
from persons.models import Person

pytestmark = pytest.mark.django_db


def with_check_digit(body17: str) -> str:
    return body17 + mod_11_2.calc_check_digit(body17)


def new_person(station, **fields) -> Person:
    """An unsaved person whose fields are all valid unless overridden."""
    born = fields.pop("birth_date", datetime.date(1990, 3, 7))
    sex = fields.pop("sex", SexChoices.MALE)
    values = {
        "name": "张三",
        "sex": sex,
        "birth_date": born,
        "document_type": DocumentTypeChoices.RESIDENT_ID,
        "document_number": make_resident_id(birth_date=born, sex=sex, region="110101"),
        "phone": "13812345678",
        "registered_station": station,
    }
    values.update(fields)
    return Person(**values)


def errors_of(person: Person) -> dict:
    with pytest.raises(ValidationError) as info:
        person.full_clean()
    return info.value.message_dict


def test_a_valid_person_passes_full_clean_and_is_normalised(station_a):
    number = with_check_digit("11010519850612123")
    # 17th digit 3: odd, a man.
    person = new_person(station_a, birth_date=datetime.date(1985, 6, 12), sex=SexChoices.MALE,
                        document_number=f"{number[:6]} {number[6:]}", phone="+86 138-1234-5678",
                        name=" 阿卜杜拉・艾买提 ")
    person.full_clean()
    assert person.document_number == number
    assert person.phone == "13812345678"
    assert person.name == "阿卜杜拉·艾买提"


def test_full_clean_rejects_a_birth_date_that_disagrees_with_the_id(station_a):
    person = new_person(station_a)
    person.birth_date = datetime.date(1990, 3, 8)
    errors = errors_of(person)
    assert set(errors) == {"birth_date"}
    assert "1990-03-07" in errors["birth_date"][0]


def test_full_clean_rejects_a_sex_that_disagrees_with_the_id(station_a):
    person = new_person(station_a, sex=SexChoices.FEMALE)
    person.sex = SexChoices.MALE
    errors = errors_of(person)
    assert set(errors) == {"sex"}


def test_full_clean_reports_an_invalid_number_on_document_number(station_a):
    number = new_person(station_a).document_number
    person = new_person(station_a, document_number=number[:17] + ("0" if number[17] != "0" else "1"))
    assert "document_number" in errors_of(person)


def test_full_clean_rejects_a_document_number_already_registered(station_a):
    first = PersonFactory(registered_station=station_a)
    duplicate = new_person(station_a, birth_date=first.birth_date, sex=first.sex, name="李四",
                           document_number=first.document_number)
    errors = errors_of(duplicate)
    assert set(errors) == {"document_number"}


def test_the_duplicate_check_sees_through_spacing_and_a_lower_case_x(station_a):
    number = next(n for n in (with_check_digit(f"11010519850612{s:03d}") for s in range(1000))
                  if n.endswith("X"))
    sex = SexChoices.MALE if int(number[16]) % 2 else SexChoices.FEMALE
    first = new_person(station_a, birth_date=datetime.date(1985, 6, 12), sex=sex, document_number=number)
    first.full_clean()
    first.save()
    again = new_person(station_a, birth_date=datetime.date(1985, 6, 12), sex=sex,
                       document_number=f"{number[:6]} {number[6:14]} {number[14:]}".lower())
    assert set(errors_of(again)) == {"document_number"}


def test_a_saved_person_passes_full_clean_again_without_clashing_with_itself(station_a):
    person = PersonFactory(registered_station=station_a)
    person.full_clean()


def test_the_database_refuses_a_second_person_with_the_same_document_even_bypassing_clean(station_a):
    first = PersonFactory(registered_station=station_a)
    duplicate = new_person(station_a, birth_date=first.birth_date, sex=first.sex, name="李四",
                           document_number=first.document_number)
    with pytest.raises(IntegrityError), transaction.atomic():
        duplicate.save()
    assert Person.objects.count() == 1


def test_the_same_passport_number_from_two_countries_is_two_documents(station_a):
    usa = new_person(station_a, name="John Smith", document_type=DocumentTypeChoices.PASSPORT,
                     document_number="E12345678", document_country="usa")
    usa.full_clean()
    usa.save()
    kor = new_person(station_a, name="김민준", document_type=DocumentTypeChoices.PASSPORT,
                     document_number="E12345678", document_country="KOR")
    kor.full_clean()
    kor.save()
    assert usa.document_country == "USA"
    assert usa.document_hash != kor.document_hash
    again = new_person(station_a, name="Jane Smith", document_type=DocumentTypeChoices.PASSPORT,
                       document_number="e1234 5678", document_country="USA")
    assert set(errors_of(again)) == {"document_number"}


def test_a_passport_holder_requires_the_issuing_country(station_a):
    person = new_person(station_a, name="John Smith", document_type=DocumentTypeChoices.PASSPORT,
                        document_number="E12345678", document_country="")
    errors = errors_of(person)
    assert set(errors) == {"document_country"}


def test_a_passport_holders_birth_date_and_sex_are_not_checked_against_the_number(station_a):
    person = new_person(station_a, name="John Smith", document_type=DocumentTypeChoices.PASSPORT,
                        document_number="E12345678", document_country="USA",
                        birth_date=datetime.date(1970, 1, 1), sex=SexChoices.FEMALE)
    person.full_clean()


def test_a_country_given_for_a_resident_id_is_dropped(station_a):
    person = new_person(station_a, document_country="CHN")
    person.full_clean()
    assert person.document_country == ""


def test_an_invalid_name_and_phone_are_reported_on_their_fields(station_a):
    person = new_person(station_a, name="张3", phone="12345")
    assert set(errors_of(person)) == {"name", "phone"}


@pytest.mark.parametrize(("name", "pinyin", "initials"), [
    ("张三", "zhangsan", "zs"),
    ("王小明", "wangxiaoming", "wxm"),
])
def test_pinyin_columns_are_filled_on_save(station_a, name, pinyin, initials):
    person = PersonFactory(registered_station=station_a, name=name)
    person.refresh_from_db()
    assert (person.name_pinyin, person.name_initials) == (pinyin, initials)


def test_pinyin_initials_of_a_transliterated_name_skip_the_middle_dot(station_a):
    person = PersonFactory(registered_station=station_a, name="阿卜杜拉·艾买提")
    person.refresh_from_db()
    assert person.name_initials.startswith("abdl")
    assert person.name_pinyin.isascii() and person.name_pinyin.isalpha()
    assert "·" not in person.name_initials


def test_pinyin_columns_follow_a_renamed_person(station_a):
    person = PersonFactory(registered_station=station_a, name="张三")
    person.name = "李四"
    person.save(update_fields=["name"])
    person.refresh_from_db()
    assert (person.name_pinyin, person.name_initials) == ("lisi", "ls")
