import datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.services import residence_correct, residence_end, residence_move, residence_start
from persons.factories import PersonFactory
from registry.models import AuditAction, AuditEvent
from registry.services import StaleVersionError

TODAY = datetime.date.today()


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a)


def test_start_registers_an_active_residence_with_next_verification_in_three_months(unit_a, staff_a):
    person = PersonFactory(registered_station=unit_a.property.station)
    residence = residence_start(person=person, unit=unit_a, start_date=datetime.date(2026, 1, 31),
                                reason="work", actor=staff_a)
    assert residence.status == "active"
    assert residence.station_id == unit_a.property.station_id
    assert residence.next_verification_due == datetime.date(2026, 4, 30)
    assert residence.created_by == staff_a


def test_start_refuses_a_second_current_residence_and_names_the_person_field(unit_a):
    existing = ResidenceFactory(unit=unit_a)
    other_unit = UnitFactory(property=unit_a.property)
    with pytest.raises(ValidationError) as exc:
        residence_start(person=existing.person, unit=other_unit, start_date=TODAY, reason="work")
    assert "person" in exc.value.message_dict
    assert Residence.objects.filter(person=existing.person).count() == 1


def test_database_also_refuses_two_current_residences(unit_a):
    existing = ResidenceFactory(unit=unit_a)
    with pytest.raises(IntegrityError), transaction.atomic():
        Residence.objects.create(person=existing.person, unit=unit_a, start_date=TODAY, reason="work",
                                 source="desk", status="active")


def test_start_refuses_a_future_date(unit_a):
    person = PersonFactory()
    with pytest.raises(ValidationError) as exc:
        residence_start(person=person, unit=unit_a, start_date=TODAY + datetime.timedelta(days=1), reason="work")
    assert "start_date" in exc.value.message_dict
    assert not Residence.objects.exists()


def test_end_keeps_history_and_refuses_a_date_before_move_in(unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=TODAY - datetime.timedelta(days=30))
    with pytest.raises(ValidationError) as exc:
        residence_end(residence=residence, end_date=TODAY - datetime.timedelta(days=31))
    assert "end_date" in exc.value.message_dict
    residence.refresh_from_db()
    assert residence.status == "active"
    residence_end(residence=residence, end_date=TODAY)
    residence.refresh_from_db()
    assert (residence.status, residence.end_date, residence.next_verification_due) == ("ended", TODAY, None)
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="housing.residence",
                                     object_id=str(residence.pk)).exists()


def test_move_ends_the_old_residence_and_starts_the_new_one_in_one_step(unit_a, community_b):
    old = ResidenceFactory(unit=unit_a, start_date=TODAY - datetime.timedelta(days=100))
    new_unit = UnitFactory(property__community=community_b)
    new = residence_move(person=old.person, unit=new_unit, start_date=TODAY - datetime.timedelta(days=2),
                         reason="work")
    old.refresh_from_db()
    assert (old.status, old.end_date) == ("ended", new.start_date)
    assert new.status == "active" and new.station_id == community_b.station_id


def test_move_that_fails_changes_nothing(unit_a):
    old = ResidenceFactory(unit=unit_a, start_date=TODAY - datetime.timedelta(days=10))
    other = UnitFactory(property=unit_a.property)
    with pytest.raises(ValidationError):  # ending before the old move-in is impossible
        residence_move(person=old.person, unit=other, start_date=TODAY - datetime.timedelta(days=20), reason="work")
    old.refresh_from_db()
    assert old.status == "active" and old.end_date is None
    assert Residence.objects.count() == 1


def test_a_stale_edit_is_refused_not_silently_applied(unit_a):
    residence = ResidenceFactory(unit=unit_a, start_date=TODAY - datetime.timedelta(days=10))
    loaded_by_alice = Residence.objects.get(pk=residence.pk)
    loaded_by_bob = Residence.objects.get(pk=residence.pk)
    residence_correct(residence=loaded_by_alice, reason_for_change="typo in reason", reason="study")
    with pytest.raises(StaleVersionError):
        residence_end(residence=loaded_by_bob, end_date=TODAY)
    residence.refresh_from_db()
    assert (residence.reason, residence.status, residence.version) == ("study", "active", 2)


def test_correction_needs_a_reason(unit_a):
    residence = ResidenceFactory(unit=unit_a)
    with pytest.raises(ValidationError) as exc:
        residence_correct(residence=residence, reason_for_change=" ", reason="study")
    assert "reason_for_change" in exc.value.message_dict
