"""Every create, update, delete, read, unmasking, export and login leaves an audit event."""

import pytest
from django.db import connection
from django.test import Client
from django.urls import reverse

from housing.factories import ResidenceFactory, UnitFactory
from persons.factories import PersonFactory
from registry import audit
from registry.audit_chain import audit_purge_expired
from registry.models import AuditAction, AuditEvent


@pytest.fixture
def residence_a(community_a):
    return ResidenceFactory(unit__property__community=community_a)


def _events(action, obj=None):
    events = AuditEvent.objects.filter(action=action)
    if obj is not None:
        events = events.filter(object_type=obj._meta.label_lower, object_id=str(obj.pk))
    return events


def test_create_update_delete_are_recorded_with_actor_and_changes(staff_a, community_a):
    with audit.audit_context(user=staff_a, via="test"):
        unit = UnitFactory(property__community=community_a, capacity=2)
        unit.capacity = 5
        unit.save()
        unit_pk = unit.pk
        unit.delete()
    created = _events(AuditAction.CREATE).get(object_type="housing.unit", object_id=str(unit_pk))
    updated = _events(AuditAction.UPDATE).get(object_type="housing.unit", object_id=str(unit_pk))
    deleted = _events(AuditAction.DELETE).get(object_type="housing.unit", object_id=str(unit_pk))
    assert created.actor_username == "staff_a"
    assert updated.changes == {"capacity": [2, 5]}
    assert deleted.actor_id == staff_a.pk
    assert updated.station_id == community_a.station_id


def test_saving_without_changes_records_no_update(community_a):
    unit = UnitFactory(property__community=community_a)
    before = AuditEvent.objects.count()
    unit.save()
    assert AuditEvent.objects.count() == before


def test_each_save_of_a_loaded_record_records_what_changed_since_the_last(community_a):
    from housing.models import Unit

    unit = Unit.objects.get(pk=UnitFactory(property__community=community_a, capacity=2, label="101").pk)
    unit.capacity = 3
    unit.save()
    unit.capacity, unit.label = 4, "102"
    unit.save()
    updates = _events(AuditAction.UPDATE, unit).order_by("id")
    assert [event.changes for event in updates] == [{"capacity": [2, 3]}, {"capacity": [3, 4], "label": ["101", "102"]}]
    assert "_audit_snapshot" not in unit._audit_snapshot  # one snapshot, not a chain of every earlier one


def test_audit_never_holds_the_document_number(staff_a, station_a):
    with audit.audit_context(user=staff_a):
        person = PersonFactory(registered_station=station_a)
    event = _events(AuditAction.CREATE, person).get()
    assert person.document_number not in str(event.changes)
    assert person.document_masked not in str(event.changes)  # with the birth date it would rebuild the number
    assert event.changes["document_number"] == ["", "set"]


def test_audit_diffs_hold_no_personal_value_in_clear(staff_a, station_a, landlord_a):
    with audit.audit_context(user=staff_a):
        person = PersonFactory(registered_station=station_a, phone="13912345678", hukou_address="河南省郑州市二七区",
                               occupation="厨师")
        person.name, person.phone = "王改名", "13800000000"
        person.save()
        landlord_a.address = "新的住址 8 号"
        landlord_a.save()
    created, updated = _events(AuditAction.CREATE, person).get(), _events(AuditAction.UPDATE, person).get()
    for value in (person.name, "13912345678", "13800000000", "河南省郑州市二七区", "厨师",
                  person.birth_date.isoformat(), str(person.birth_date)):
        assert value not in str(created.changes) + str(updated.changes), value
    assert created.changes["name"] == created.changes["birth_date"] == ["", "set"]
    assert updated.changes == {"name": ["", "changed"], "phone": ["", "changed"]}
    assert created.changes["sex"] == [None, person.sex]  # what is not a personal detail is recorded as before
    landlord_event = _events(AuditAction.UPDATE, landlord_a).get()
    assert landlord_event.changes == {"address": ["", "changed"]}


def test_person_detail_view_is_recorded(client, staff_a, residence_a):
    client.force_login(staff_a)
    response = client.get(reverse("persons:person_detail", args=[residence_a.person.pk]))
    assert response.status_code == 200
    event = _events(AuditAction.VIEW, residence_a.person).get()
    assert (event.actor_username, event.via) == ("staff_a", "web")


def test_unmask_is_recorded_with_its_reason(client, staff_a, residence_a):
    client.force_login(staff_a)
    person = residence_a.person
    response = client.post(reverse("persons:person_unmask", args=[person.pk]), {"reason": "核对身份证原件"})
    assert response.status_code == 200
    assert person.document_number in response.content.decode()
    event = _events(AuditAction.UNMASK, person).get()
    assert event.reason == "核对身份证原件"


def test_unmask_without_reason_shows_nothing_and_records_nothing(client, staff_a, residence_a):
    client.force_login(staff_a)
    person = residence_a.person
    response = client.post(reverse("persons:person_unmask", args=[person.pk]), {"reason": " "})
    assert person.document_number not in response.content.decode()
    assert not _events(AuditAction.UNMASK).exists()


def test_unmask_needs_the_permission(client, residence_a):
    from registry.factories import make_user
    from registry.roles import RoleChoices

    landlord_user = make_user(RoleChoices.LANDLORD, username="ll")
    residence_a.unit.property.landlord.user = landlord_user
    residence_a.unit.property.landlord.save()
    client.force_login(landlord_user)
    response = client.post(reverse("persons:person_unmask", args=[residence_a.person.pk]), {"reason": "想看看号码"})
    assert response.status_code == 403
    assert not _events(AuditAction.UNMASK).exists()


def test_export_event_records_rows_and_filters(staff_a):
    from persons.models import Person

    audit.record_export(staff_a, Person, count=12, filters={"q": "张"}, via="web")
    event = _events(AuditAction.EXPORT).get()
    assert event.changes == {"rows": 12, "filters": {"q": "张"}}
    assert event.object_type == "persons.person"


def test_login_success_and_failure_are_recorded(staff_a):
    client = Client()
    client.post(reverse("login"), {"username": "staff_a", "password": "wrong"})
    client.post(reverse("login"), {"username": "staff_a", "password": "demo-pass-2026"})
    assert _events(AuditAction.LOGIN_FAILED).get().actor_username == "staff_a"
    assert _events(AuditAction.LOGIN).get().actor_id == staff_a.pk


def test_audit_events_cannot_be_edited_or_deleted_by_the_application(staff_a):
    event = audit.record(action=AuditAction.VIEW, object_type="persons.person", object_id="1", user=staff_a)
    event.reason = "tampered"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    with pytest.raises(PermissionError):
        AuditEvent.objects.filter(pk=event.pk).update(reason="tampered")
    with pytest.raises(PermissionError):
        AuditEvent.objects.all().delete()
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_retention_purge_keeps_events_younger_than_183_days(staff_a, settings):
    from django.utils import timezone

    settings.REGISTRY = {**settings.REGISTRY, "AUDIT_RETENTION_DAYS": 10}  # below the floor
    # Written first, as old events are: the purge removes the chain's oldest (registry/audit_chain.py).
    old = AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - timezone.timedelta(days=200))
    young = audit.record(action=AuditAction.VIEW, object_type="x", user=staff_a)
    assert audit_purge_expired(now=timezone.now() - timezone.timedelta(days=20)) == 0
    assert audit_purge_expired() == 1
    assert not AuditEvent.objects.filter(pk=old.pk).exists()
    assert AuditEvent.objects.filter(pk=young.pk).exists()


@pytest.mark.postgres
def test_database_refuses_to_edit_or_delete_young_audit_events(staff_a):
    from django.db import transaction
    from django.db.utils import DatabaseError

    event = audit.record(action=AuditAction.VIEW, object_type="persons.person", object_id="1", user=staff_a)
    for sql in ("UPDATE registry_auditevent SET reason = 'x' WHERE id = %s",
                "DELETE FROM registry_auditevent WHERE id = %s"):
        with pytest.raises(DatabaseError, match="audit events"), transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute(sql, [event.pk])
    assert AuditEvent.objects.get(pk=event.pk).reason == ""


def test_person_api_record_read_is_recorded_and_number_masked(client, staff_a, residence_a):
    client.force_login(staff_a)
    person = residence_a.person
    response = client.get(f"/api/v1/persons/{person.pk}/")
    assert response.status_code == 200
    assert response.json()["document_masked"] == person.document_masked
    assert "document_number" not in response.json()
    assert person.document_number not in response.content.decode()
    event = _events(AuditAction.VIEW, person).get()
    assert (event.actor_username, event.via) == ("staff_a", "api")


def test_person_api_answers_404_for_another_stations_person(client, staff_b, residence_a):
    client.force_login(staff_b)
    assert client.get(f"/api/v1/persons/{residence_a.person.pk}/").status_code == 404
    assert client.get("/api/v1/persons/").json()["results"] == []
    assert not _events(AuditAction.VIEW).exists()
