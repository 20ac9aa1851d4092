"""Registering many residents at once (imports) is the same service as one at the desk: the same rules,
the same rows, the same audit trail and change feed, in a fixed number of queries, all or nothing."""

import datetime
import random
from collections import Counter

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.models import Max
from django.test.utils import CaptureQueriesContext

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Residence
from housing.services import Registration, person_register, registrations_apply
from persons.factories import PersonFactory
from persons.identity import make_resident_id
from persons.models import Person
from registry.models import AuditEvent, ChangeLog

TODAY = datetime.date.today()
SINCE = TODAY - datetime.timedelta(days=10)


def _identity(n: int, **extra) -> dict:
    born = datetime.date(1980, 1, 1) + datetime.timedelta(days=n)
    number = make_resident_id(birth_date=born, sex="M", rng=random.Random(n))
    return {"document_type": "resident_id", "document_number": number, "document_country": "",
            "name": "张伟明", "sex": "M", "birth_date": born, "phone": "13912345678", **extra}


def _world(community_a, community_b, *, new: int, offset: int = 0):
    """Registrations into one unit of station A: ``new`` unknown persons, a person moving in from station B
    (whose blank phone gets filled in) and a person who lived in A before and returns."""
    unit = UnitFactory(property__community=community_a, capacity=200)
    mover = PersonFactory(registered_station=community_b.station, name="李建", phone="")
    ResidenceFactory(person=mover, unit=UnitFactory(property__community=community_b),
                     start_date=TODAY - datetime.timedelta(days=200))
    returner = PersonFactory(registered_station=community_a.station, name="王芳", phone="13600002222")
    ResidenceFactory(person=returner, unit=unit, start_date=TODAY - datetime.timedelta(days=900),
                     status="ended", end_date=TODAY - datetime.timedelta(days=400))
    entries = [Registration(identity=_identity(offset + n), unit=unit, start_date=SINCE, reason="work")
               for n in range(new)]
    for person, extra in ((mover, {"phone": "13700001111"}), (returner, {})):
        entries.append(Registration(
            identity={"document_type": person.document_type, "document_number": person.document_number,
                      "document_country": "", "name": person.name, **extra},
            unit=unit, start_date=SINCE, reason="family"))
    return entries, mover


def _marks():
    return (AuditEvent.objects.aggregate(top=Max("id"))["top"] or 0,
            ChangeLog.objects.aggregate(top=Max("id"))["top"] or 0)


def _written(entries, marks):
    """What a run wrote, with ids and names taken out."""
    events = Counter((e.action, e.object_type, tuple(sorted(e.changes)), e.station_id is not None)
                     for e in AuditEvent.objects.filter(id__gt=marks[0]))
    feed = Counter((c.object_type, c.action, c.version, c.is_copy) for c in ChangeLog.objects.filter(id__gt=marks[1]))
    numbers = {entry.identity["document_number"] for entry in entries}
    persons = [p for p in Person.objects.all() if p.document_number in numbers]
    people = sorted((p.name_pinyin, p.name_initials, p.phone, p.version, p.registered_station_id)
                    for p in persons)
    residences = sorted((r.status, r.start_date, r.end_date, r.next_verification_due, r.version, bool(r.note),
                         r.reason, r.source, r.station_id, r.registered_elsewhere)
                        for r in Residence.objects.filter(person__in=persons))
    return events, feed, people, residences


def test_many_at_once_write_exactly_what_one_at_a_time_writes(community_a, community_b):
    one_by_one, _mover = _world(community_a, community_b, new=3)
    marks = _marks()
    for entry in one_by_one:
        person_register(identity=entry.identity, unit=entry.unit, start_date=entry.start_date, reason=entry.reason)
    single = _written(one_by_one, marks)

    at_once, mover = _world(community_a, community_b, new=3, offset=100)
    marks = _marks()
    registrations_apply(at_once)
    assert _written(at_once, marks) == single

    mover.refresh_from_db()
    ended = Residence.objects.get(person=mover, status="ended")
    assert (mover.phone, mover.version) == ("13700001111", 2)  # a blank field filled in
    assert (ended.end_date, ended.version, ended.next_verification_due) == (SINCE, 2, None)
    # The scope's mark: the mover is registered at B and now lives in A; the new persons are registered in A.
    assert Residence.objects.get(person=mover, status="active").registered_elsewhere is True
    assert not Residence.objects.filter(start_date=SINCE, person__registered_station=community_a.station,
                                        registered_elsewhere=True).exists()
    # The moved person's entry is copied to the feed of the station they came from.
    assert ChangeLog.objects.filter(object_type="persons.person", object_id=str(mover.pk), is_copy=True,
                                    station_id=community_b.station.pk).exists()


def test_one_refused_entry_saves_nothing_and_says_which(community_a, community_b):
    entries, _mover = _world(community_a, community_b, new=4)
    entries[2].identity["name"] = ""
    entries[3].start_date = TODAY + datetime.timedelta(days=3)
    persons, residences, marks = Person.objects.count(), Residence.objects.count(), _marks()
    with pytest.raises(ValidationError):
        registrations_apply(entries)
    assert (Person.objects.count(), Residence.objects.count(), _marks()) == (persons, residences, marks)
    assert [sorted(entry.errors) for entry in entries] == [[], [], ["name"], ["start_date"], [], []]


def test_the_same_queries_for_five_or_forty_registrations(community_a, community_b, staff_a):
    # Forty: SQLite lets Django insert about fifty persons per statement (999 parameters).
    def queries(new, offset):
        entries, _mover = _world(community_a, community_b, new=new, offset=offset)
        with CaptureQueriesContext(connection) as captured:
            registrations_apply(entries, actor=staff_a)
        return len(captured)

    assert queries(5, 0) == queries(40, 1000)
