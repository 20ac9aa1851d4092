"""One person per document number, enforced by the database when two registrations race.

Both threads validate before either has saved, so the application-level check in ``clean()`` passes
for both; only the unique constraint ``person_unique_document`` can stop the second insert.
"""

import datetime
import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection

from persons.choices import DocumentTypeChoices, SexChoices
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import StationFactory

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

TIMEOUT = 30


def race(target, count=2):
    """Run ``target(barrier)`` in ``count`` threads, each with its own connection; return results."""
    barrier = threading.Barrier(count, timeout=TIMEOUT)
    results = [None] * count

    def run(index):
        try:
            results[index] = ("ok", target(barrier))
        except IntegrityError as exc:
            results[index] = ("integrity_error", exc)
        except BaseException as exc:  # noqa: BLE001 - reported by the assertion in the test
            results[index] = ("other", exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(TIMEOUT)
    assert not any(thread.is_alive() for thread in threads), "a thread is stuck"
    return results


def test_two_simultaneous_registrations_of_one_document_leave_exactly_one_person():
    assert connection.vendor == "postgresql"
    station = StationFactory(code="SR", name="竞态派出所")
    born = datetime.date(1991, 4, 5)
    number = make_resident_id(birth_date=born, sex=SexChoices.FEMALE, region="110101")

    def register(barrier):
        person = Person(name="王芳", sex=SexChoices.FEMALE, birth_date=born, registered_station=station,
                        document_type=DocumentTypeChoices.RESIDENT_ID, document_number=number)
        person.full_clean()  # passes in both threads: neither has saved yet
        barrier.wait()
        person.save()  # no clean() here: the database alone decides
        return person.pk

    results = race(register)
    outcomes = sorted(kind for kind, _ in results)
    assert outcomes == ["integrity_error", "ok"], results
    assert Person.objects.count() == 1
    survivor = Person.objects.by_document(DocumentTypeChoices.RESIDENT_ID, number).get()
    assert survivor.pk == next(value for kind, value in results if kind == "ok")
    assert survivor.document_number == number


def test_simultaneous_inserts_with_differently_typed_forms_of_one_number_still_collide():
    # The constraint is on the keyed hash of the normalised number: spacing and a lower-case x
    # must not let a second row in when clean() runs in both threads.
    station = StationFactory(code="SR2", name="竞态二派出所")
    born = datetime.date(1985, 6, 12)
    number = next(n for n in (make_resident_id(birth_date=born, sex=SexChoices.MALE, region="110105")
                              for _ in range(2000)) if n.endswith("X"))
    forms = [number, f"{number[:6]} {number[6:14]} {number[14:]}".lower()]
    counter = iter(range(2))
    lock = threading.Lock()

    def register(barrier):
        with lock:
            entered = forms[next(counter)]
        person = Person(name="赵强", sex=SexChoices.MALE, birth_date=born, registered_station=station,
                        document_type=DocumentTypeChoices.RESIDENT_ID, document_number=entered)
        person.full_clean()
        barrier.wait()
        person.save()
        return person.pk

    results = race(register)
    assert sorted(kind for kind, _ in results) == ["integrity_error", "ok"], results
    assert Person.objects.count() == 1


def test_a_registration_that_loses_the_race_gets_a_clear_error_not_a_500():
    """Both desks look the number up, find nobody and register; the second is told to try again."""
    from housing.factories import UnitFactory
    from housing.services import Registration, registrations_apply, registrations_check

    unit = UnitFactory()
    born = datetime.date(1992, 6, 7)
    number = make_resident_id(birth_date=born, sex=SexChoices.MALE, region="110101")
    identity = {"document_type": DocumentTypeChoices.RESIDENT_ID, "document_number": number,
                "document_country": "", "name": "李强", "sex": SexChoices.MALE, "birth_date": born}

    def register(barrier):
        entry = Registration(identity=dict(identity), unit=unit, start_date=datetime.date.today(), reason="work")
        registrations_check([entry])  # nobody known yet, in both threads
        barrier.wait()
        registrations_apply([entry])
        return entry.residence.pk

    results = race(register)
    outcomes = sorted(kind for kind, _value in results)
    assert outcomes == ["ok", "other"], results
    error = next(value for kind, value in results if kind == "other")
    # Usually the insert collides ("registered a moment ago"); if the winner committed before the loser
    # looked again, the loser finds them already living in this unit. Either way: a message, not a 500.
    assert isinstance(error, ValidationError), repr(error)
    assert {"document_number"} <= set(error.message_dict) or {"unit"} <= set(error.message_dict)
    assert Person.objects.filter(document_hash=Person.document_key("resident_id", number)).count() == 1
