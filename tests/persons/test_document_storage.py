"""Identity-document numbers at rest: encrypted column, keyed hash for lookup, masked copy for lists."""

import re

import pytest
from django.core.exceptions import FieldError
from django.db import connection

from persons.choices import DocumentTypeChoices
from persons.factories import PersonFactory
from persons.models import Person
from registry.crypto import decrypt, encrypt

pytestmark = pytest.mark.django_db


@pytest.fixture
def person(station_a):
    return PersonFactory(registered_station=station_a)


def raw_rows(table: str) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {connection.ops.quote_name(table)}")
        return cursor.fetchall()


def values_containing(rows, needles) -> list:
    return [value for row in rows for value in row
            if value is not None and any(needle in str(value) for needle in needles)]


def test_a_raw_select_of_the_person_table_holds_neither_the_number_nor_its_last_ten_characters(person):
    number = person.document_number
    rows = raw_rows(Person._meta.db_table)
    assert len(rows) == 1
    assert values_containing(rows, [number, number[-10:]]) == []


def test_no_table_in_the_database_holds_the_number_in_clear(person):
    # The audit trail and change feed record the create too; none may copy the number.
    number = person.document_number
    with connection.cursor() as cursor:
        tables = connection.introspection.table_names(cursor)
    found = {table: values_containing(raw_rows(table), [number, number[-10:]]) for table in tables}
    assert {table: values for table, values in found.items() if values} == {}


def test_the_stored_column_is_ciphertext_that_decrypts_to_the_number(person):
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT document_number, document_hash, document_head_hash, document_tail_hash "
            f"FROM {Person._meta.db_table} WHERE id = %s",
            [person.pk],
        )
        stored, digest, head, tail = cursor.fetchone()
    assert stored != person.document_number
    assert decrypt(stored) == person.document_number
    # No clear part of the number is stored: with the birth date, first 6 + last 4 would rebuild it.
    for value in (digest, head, tail):
        assert re.fullmatch(r"[0-9a-f]{64}", value)
    assert person.document_number[:6] not in head + tail and person.document_number[-4:] not in head + tail


def test_document_hash_is_64_hex_characters(person):
    person.refresh_from_db()
    assert re.fullmatch(r"[0-9a-f]{64}", person.document_hash)


def test_the_orm_returns_the_decrypted_number(person):
    number = person.document_number
    assert Person.objects.get(pk=person.pk).document_number == number
    assert Person.objects.values_list("document_number", flat=True).get(pk=person.pk) == number


def test_document_masked_shows_the_first_6_and_last_4_characters(person):
    number = person.document_number
    person.refresh_from_db()
    assert person.document_masked == number[:6] + "*" * 8 + number[-4:]
    assert len(person.document_masked) == 18


def test_by_document_finds_the_person_and_only_that_person(person, station_a):
    other = PersonFactory(registered_station=station_a)
    found = Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, person.document_number)
    assert list(found) == [person]
    assert list(Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, other.document_number)) == [other]


def test_by_document_does_not_match_the_same_number_under_another_document_type(person):
    assert not Person.objects.by_document(DocumentTypeChoices.HKMT_PERMIT, person.document_number).exists()
    assert not Person.objects.by_document(DocumentTypeChoices.PASSPORT, person.document_number).exists()


def test_by_document_does_not_match_a_different_number(person):
    number = person.document_number
    different = number[:14] + ("0" if number[14] != "0" else "1") + number[15:]
    assert not Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, different).exists()


def test_the_hash_follows_a_changed_number(person):
    old_number, old_hash = person.document_number, person.document_hash
    replacement = PersonFactory.build(birth_date=person.birth_date, sex=person.sex).document_number
    assert replacement != old_number
    person.document_number = replacement
    person.save(update_fields=["document_number"])
    person.refresh_from_db()
    assert person.document_hash != old_hash
    assert person.document_masked == replacement[:6] + "*" * 8 + replacement[-4:]
    assert list(Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, replacement)) == [person]
    assert not Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, old_number).exists()


@pytest.mark.parametrize("lookup", ["document_number", "document_number__exact", "document_number__iexact",
                                    "document_number__startswith", "document_number__contains",
                                    "document_number__in"])
def test_filtering_on_the_encrypted_column_is_refused(person, lookup):
    value = [person.document_number] if lookup.endswith("__in") else person.document_number
    with pytest.raises(FieldError):
        Person.objects.filter(**{lookup: value}).exists()


def test_isnull_is_the_one_lookup_allowed_on_the_encrypted_column(person):
    assert list(Person.objects.filter(document_number__isnull=False)) == [person]
    assert not Person.objects.filter(document_number__isnull=True).exists()


def test_two_encryptions_of_the_same_number_differ_and_both_decrypt(person):
    number = person.document_number
    first, second = encrypt(number), encrypt(number)
    assert first != second
    assert number not in first and number not in second
    assert decrypt(first) == decrypt(second) == number


def test_saving_the_same_person_again_writes_a_fresh_ciphertext_with_the_same_hash(person):
    def stored():
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT document_number, document_hash FROM {Person._meta.db_table} WHERE id = %s",
                           [person.pk])
            return cursor.fetchone()

    first_cipher, first_hash = stored()
    person.save()
    second_cipher, second_hash = stored()
    assert first_cipher != second_cipher
    assert first_hash == second_hash


def test_tampered_ciphertext_is_reported_not_returned(person):
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE {Person._meta.db_table} SET document_number = %s WHERE id = %s",
                       ["gAAAAABnot-a-real-token", person.pk])
    with pytest.raises(ValueError, match="cannot be decrypted"):
        Person.objects.get(pk=person.pk)
