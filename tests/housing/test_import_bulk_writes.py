"""The import's bulk writes store exactly what row-by-row writes store: COPY on PostgreSQL against
multi-row INSERTs, and the audit trail of a bulk write against the signal receivers' of a single save."""

import datetime
import random

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from housing.services import Registration, registrations_apply
from persons.identity import make_resident_id
from persons.models import Person
from registry import bulk
from registry.audit import audit_context, record_saved_many
from registry.models import AuditEvent, ChangeLog

TODAY = datetime.date.today()
AWKWARD = ["", "tab\there", "line\nbreak\r\n", 'quote " and \'', "back\\slash", "\\N", "NULL", "张三·𠮷", ",;"]


def _identity(n: int) -> dict:
    born = datetime.date(1985, 1, 1) + datetime.timedelta(days=n)
    return {"document_type": "resident_id", "document_number": make_resident_id(birth_date=born, sex="F",
                                                                                 rng=random.Random(n)),
            "document_country": "", "name": "李娜", "sex": "F", "birth_date": born, "phone": ""}


def _awkward_rows(count: int) -> tuple[list, list]:
    now = timezone.now()
    events, feed = [], []
    for n in range(count):
        text = AWKWARD[n % len(AWKWARD)]
        events.append({"at": now, "actor_id": None if n % 3 else n, "actor_username": text, "action": "update",
                       "object_type": "persons.person", "object_id": str(n), "station_id": None if n % 2 else 7,
                       "changes": {"name": [text, None], "n": [n, 1.5], "ok": [True, False]}, "reason": text,
                       "ip_address": None if n % 4 else "10.0.0.1", "via": "import"})
        feed.append({"object_type": "housing.residence", "object_id": text or "x", "action": "create",
                     "version": None if n % 5 else n, "station_id": n, "is_copy": bool(n % 2),
                     "copy_of_station_id": None if n % 2 == 0 else 3})
    return events, feed


def _stored(model, since: int) -> list:
    fields = [f.attname for f in model._meta.concrete_fields if f.attname not in ("id", "at")]
    return list(model.objects.filter(id__gt=since).order_by("id").values_list(*fields))


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_stores_exactly_what_insert_stores(monkeypatch):
    events, feed = _awkward_rows(bulk.COPY_FROM + 20)
    stored = []
    for copy_from in (bulk.COPY_FROM, 10**9):  # COPY, then multi-row INSERTs
        monkeypatch.setattr(bulk, "COPY_FROM", copy_from)
        top_event = AuditEvent.objects.order_by("-id").values_list("id", flat=True).first() or 0
        top_change = ChangeLog.objects.order_by("-id").values_list("id", flat=True).first() or 0
        bulk.insert_rows(AuditEvent, events)
        bulk.insert_rows(ChangeLog, feed)
        stored.append((_stored(AuditEvent, top_event), _stored(ChangeLog, top_change)))
    assert stored[0] == stored[1]
    assert len(stored[0][0]) == len(events)
    assert stored[0][0][1][1] == "tab\there"  # actor_username, escaped and read back


@pytest.mark.postgres
@pytest.mark.django_db
def test_copy_gives_new_objects_their_keys(community_a):
    people = []
    for n in range(bulk.COPY_FROM + 5):
        person = Person(**_identity(n), registered_station=community_a.station)
        person.sync_document_columns()
        person.sync_name_columns()
        people.append(person)
    bulk.insert_objects(Person, people)
    assert len({person.pk for person in people}) == len(people)
    stored = dict(Person.objects.filter(pk__in=[p.pk for p in people]).values_list("pk", "document_hash"))
    assert stored == {person.pk: person.document_hash for person in people}

def _rows_with_one_document_twice(station) -> list[dict]:
    """A COPY-sized batch of person rows in which the last repeats the first document."""
    rows = []
    for n in range(bulk.COPY_FROM):
        person = Person(**_identity(n % (bulk.COPY_FROM - 1)), registered_station=station)
        person.sync_document_columns()
        person.sync_name_columns()
        rows.append({f.attname: f.pre_save(person, True) for f in Person._meta.concrete_fields if not f.primary_key})
    return rows


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_duplicate_document_in_a_copy_is_an_integrity_error(community_a):
    rows = _rows_with_one_document_twice(community_a.station)
    with pytest.raises(IntegrityError), transaction.atomic():
        bulk.insert_rows(Person, rows)


@pytest.mark.django_db
def test_a_bulk_write_is_audited_exactly_like_a_single_save(community_a, staff_a):
    def event_of(person) -> dict:
        event = AuditEvent.objects.filter(object_type="persons.person", object_id=str(person.pk)).values().get()
        return {key: value for key, value in event.items() if key not in ("id", "at", "object_id")}

    with audit_context(user=staff_a, via="import"):
        single = Person(**{**_identity(1), "phone": "13912345678"}, registered_station=community_a.station)
        single.save()  # the signal receivers write its trail
        many = Person(**{**_identity(2), "phone": "13912345678"}, registered_station=community_a.station)
        many.sync_document_columns()
        many.sync_name_columns()
        bulk.insert_objects(Person, [many])
        record_saved_many([many], created=True)
    expected, got = event_of(single), event_of(many)
    expected["changes"].pop("id"), got["changes"].pop("id")
    expected["changes"].pop("birth_date"), got["changes"].pop("birth_date")  # two people, two birthdays
    assert got == expected
    assert got["changes"]["document_number"] == ["", "set"]
    assert "document_hash" not in got["changes"] and got["actor_id"] == staff_a.pk


@pytest.mark.postgres
@pytest.mark.django_db
def test_an_import_sized_batch_writes_through_copy_and_reads_back(community_a):
    from housing.factories import UnitFactory

    unit = UnitFactory(property__community=community_a, capacity=500)
    entries = [Registration(identity=_identity(n), unit=unit, start_date=TODAY, reason="work")
               for n in range(bulk.COPY_FROM + 10)]
    registrations_apply(entries, source="import")
    persons = Person.objects.filter(pk__in=[entry.person.pk for entry in entries])
    assert sorted(p.document_number for p in persons) == sorted(e.identity["document_number"] for e in entries)
    assert AuditEvent.objects.filter(object_type="housing.residence", action="create").count() == len(entries)
    assert ChangeLog.objects.filter(object_type="persons.person", action="create").count() == len(entries)


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_failed_copy_in_the_background_is_raised_and_nothing_is_kept(community_a):
    rows = _rows_with_one_document_twice(community_a.station)
    before = Person.objects.count()
    with pytest.raises(IntegrityError), transaction.atomic(), bulk.copies_in_background():
        bulk.insert_rows(Person, rows)  # handed to the thread: the error comes with the next statement
        Person.objects.count()
    assert Person.objects.count() == before


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_large_import_through_the_tasks_writes_every_row_its_trail_and_feed(
        client, staff_a, community_a, settings, tmp_path, django_capture_on_commit_callbacks):
    from housing import imports
    from housing.factories import UnitFactory
    from housing.models import Residence

    settings.VAR_DIR = tmp_path
    client.force_login(staff_a)
    units = [UnitFactory(property__community=community_a, capacity=100) for _ in range(3)]
    count = 2 * imports.CHUNK + 150  # three chunks, each written with COPY in the background
    job = _upload(client, units, count, django_capture_on_commit_callbacks)
    events, feed = AuditEvent.objects.count(), ChangeLog.objects.count()
    _confirm(client, job, django_capture_on_commit_callbacks)
    assert job.status == "done", job.failure_reason
    assert job.result["created_persons"] == count
    imported = Residence.objects.filter(source="import", unit__in=units)
    assert imported.count() == imported.values("person").distinct().count() == count
    assert AuditEvent.objects.count() - events == 2 * count
    assert ChangeLog.objects.count() - feed == 2 * count
    assert set(Person.objects.filter(residences__in=imported).values_list("name_pinyin", flat=True)) == {"lina"}


@pytest.mark.django_db
def test_the_import_stores_the_rows_normalised_as_the_desk_would(
        client, staff_a, community_a, settings, tmp_path, django_capture_on_commit_callbacks):
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from housing.factories import UnitFactory
    from housing.models import ImportJob

    settings.VAR_DIR = tmp_path
    client.force_login(staff_a)
    unit = UnitFactory(property__community=community_a, capacity=10)
    number = _identity(7)["document_number"]
    lines = ["document_number,name,phone,property_registration_number,unit_label,start_date,reason",
             f"{number[:6]} {number[6:-1]}-{number[-1].lower()},阿卜杜拉•艾买提  ,+86 139-1234-5678,"
             f"{unit.property.registration_number},{unit.label},{TODAY.isoformat()},务工"]
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:upload"), {
            "file": SimpleUploadedFile("one.csv", "\n".join(lines).encode())})
    job = ImportJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert job.valid_rows == 1, job.errors
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_confirm", args=[job.pk]))
    job.refresh_from_db()
    assert job.status == "done", job.failure_reason
    person = Person.objects.by_document("resident_id", number.upper()).get()
    assert (person.name, person.phone, person.document_number) == ("阿卜杜拉·艾买提", "13912345678", number.upper())
    assert (person.sex, person.birth_date) == ("F", _identity(7)["birth_date"])


@pytest.mark.django_db
def test_new_instance_builds_what_the_keywords_build(community_a, staff_a, django_assert_num_queries):
    from housing.factories import UnitFactory
    from housing.models import Residence

    unit = UnitFactory(property__community=community_a)
    person = Person(**_identity(3), registered_station=community_a.station)
    person.save()
    values = {"station_id": community_a.station_id, "start_date": TODAY, "reason": "work", "source": "import",
              "status": "active", "reported_on": TODAY}
    by_keywords = Residence(person=person, unit=unit, created_by=staff_a, **values)
    built = bulk.new_instance(Residence, values, related={"person": person, "unit": unit, "created_by": staff_a})
    fields = [field.attname for field in Residence._meta.concrete_fields]
    assert [getattr(built, name) for name in fields] == [getattr(by_keywords, name) for name in fields]
    assert built.version == 1 and built.note == "" and built.registered_elsewhere is True  # the defaults
    with django_assert_num_queries(0):  # the related objects are cached, as assigning them caches them
        assert (built.person, built.unit, built.created_by) == (person, unit, staff_a)
    assert built._state.adding and built.pk is None
    with pytest.raises(TypeError, match="no field"):
        bulk.new_instance(Residence, {**values, "stat_id": 1})


@pytest.mark.django_db
def test_a_registration_with_a_reason_outside_the_choices_is_refused_and_writes_nothing(community_a):
    from django.core.exceptions import ValidationError

    from housing.factories import UnitFactory
    from housing.models import Residence

    unit = UnitFactory(property__community=community_a)
    entries = [Registration(identity=_identity(n), unit=unit, start_date=TODAY, reason="work" if n else "vacation")
               for n in range(3)]
    with pytest.raises(ValidationError) as refused:
        registrations_apply(entries, source="import")
    assert "reason" in refused.value.message_dict
    assert not Residence.objects.filter(unit=unit).exists()
    assert not Person.objects.filter(document_hash__in=[e.document_key for e in entries]).exists()


def _upload(client, units, count, django_capture_on_commit_callbacks):
    """Upload ``count`` new residents spread over ``units``; returns the checked job."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django.urls import reverse

    from housing.models import ImportJob

    lines = ["document_number,name,phone,property_registration_number,unit_label,start_date,reason"]
    for n in range(count):
        unit = units[n % len(units)]
        lines.append(",".join([_identity(n)["document_number"], "李娜", "13912345678",
                               unit.property.registration_number, unit.label, TODAY.isoformat(), "work"]))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("imports:upload"), {
            "file": SimpleUploadedFile("many.csv", "\n".join(lines).encode())})
    job = ImportJob.objects.get(pk=response["Location"].rstrip("/").rsplit("/", 1)[-1])
    assert job.valid_rows == count, job.errors[:3]
    return job


def _confirm(client, job, django_capture_on_commit_callbacks):
    from django.urls import reverse

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("imports:job_confirm", args=[job.pk]))
    job.refresh_from_db()
    return job


def _import(client, units, count, django_capture_on_commit_callbacks):
    """Upload ``count`` new residents spread over ``units`` and confirm the import; returns the job."""
    return _confirm(client, _upload(client, units, count, django_capture_on_commit_callbacks),
                    django_capture_on_commit_callbacks)


@pytest.mark.django_db
def test_batches_checked_a_group_ahead_are_all_written_in_order(
        client, staff_a, community_a, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    from housing import imports
    from housing.factories import UnitFactory
    from housing.models import Residence

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(imports, "CHUNK", 40)
    monkeypatch.setattr(imports, "GROUP", 2)  # 5 batches: groups of 2, 2 and 1
    client.force_login(staff_a)
    units = [UnitFactory(property__community=community_a, capacity=100) for _ in range(2)]
    job = _import(client, units, 190, django_capture_on_commit_callbacks)
    assert job.status == "done", job.failure_reason
    assert job.result["created_persons"] == 190
    imported = Residence.objects.filter(source="import", unit__in=units)
    numbers = {person.document_number for person in Person.objects.filter(residences__in=imported)}
    assert numbers == {_identity(n)["document_number"] for n in range(190)}
    assert AuditEvent.objects.filter(object_type="housing.residence", action="create").count() == 190
    assert ChangeLog.objects.filter(object_type="persons.person", action="create").count() == 190


@pytest.mark.django_db
def test_a_batch_refused_at_the_write_fails_the_whole_import(
        client, staff_a, community_a, settings, tmp_path, monkeypatch, django_capture_on_commit_callbacks):
    """Someone registers one of the file's documents between the check and the write: the write refuses its
    batch, and the batches written before it are rolled back with it."""
    from housing import imports, services
    from housing.factories import UnitFactory
    from housing.models import Residence

    settings.VAR_DIR = tmp_path
    monkeypatch.setattr(imports, "CHUNK", 40)
    monkeypatch.setattr(imports, "GROUP", 2)
    person_batches = []

    def insert_objects(model, objs):
        if model is Person:
            person_batches.append(len(objs))
            if len(person_batches) == 2:  # the second batch: one of its persons was registered a moment ago
                raise IntegrityError("duplicate key value violates unique constraint")
        return bulk.insert_objects(model, objs)

    monkeypatch.setattr(services, "insert_objects", insert_objects)
    client.force_login(staff_a)
    units = [UnitFactory(property__community=community_a, capacity=100) for _ in range(2)]
    job = _import(client, units, 120, django_capture_on_commit_callbacks)
    assert person_batches == [40, 40]  # the first batch was written before the second was refused
    assert job.status == "failed"
    assert job.failure_reason.startswith("未导入任何数据：证件号码：此人刚刚已被他人登记")  # in the job's language
    assert not Residence.objects.filter(unit__in=units).exists()
    assert not Person.objects.filter(name="李娜").exists()


@pytest.mark.django_db
def test_the_unit_finder_reads_the_units_rows_name_across_batches(community_a, staff_a, django_assert_num_queries):
    """Units are read only as rows name them; a property met again in a later batch, with another of its
    units, still finds it; a unit it does not have is an error on the row, and is not read twice."""
    from housing.factories import PropertyFactory, UnitFactory
    from housing.import_rows import UnitFinder
    from housing.import_sheet import ImportRow

    prop = PropertyFactory(community=community_a)
    first, second = UnitFactory(property=prop, label="101"), UnitFactory(property=prop, label="102")
    UnitFactory(property=prop, label="103")

    def row(number, label):
        return ImportRow(number=number, cells={}, registration_number=prop.registration_number, unit_label=label)

    finder = UnitFinder(staff_a)
    batch_one = [row(2, "101")]
    finder.prefetch(batch_one)
    assert list(finder._units) == [(prop.pk, "101")]  # not 102 and 103 as well
    assert finder.find(batch_one[0]) == first
    batch_two = [row(3, "102"), row(4, "999")]
    with django_assert_num_queries(1):  # the property is known: its two named units, in one query
        finder.prefetch(batch_two)
    assert finder.find(batch_two[0]) == second
    assert finder.find(batch_two[1]) is None and batch_two[1].has_error("unit_label")
    with django_assert_num_queries(0):  # a unit found missing is not looked for again
        finder.prefetch([row(5, "999")])
