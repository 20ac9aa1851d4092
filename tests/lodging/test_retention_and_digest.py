"""Stays lose their guest's details a retention period after check-out; guests staying long are pointed out to
the station every day until it acts."""

import datetime

import time_machine
from django.utils import timezone

from lodging.models import Stay
from lodging.services import stay_check_in, stay_check_out
from registry.models import AuditEvent, Notification
from registry.notifications import reminders_send
from registry.retention import retention_run

ID = "110101199003071233"


def make(lodging, user, *, arrived, name="张三"):
    return stay_check_in(lodging=lodging, actor=user, document_type="resident_id", document_number=ID, name=name,
                         room="101", nights=1, arrived_at=arrived)


def test_a_stay_is_anonymised_a_year_after_check_out_and_not_before(landlord_a, guesthouse_a, settings):
    now = timezone.now()
    old = make(guesthouse_a, landlord_a.user, arrived=now - datetime.timedelta(days=2))
    stay_check_out(stay=old, at=now - datetime.timedelta(days=1))
    staying = make(guesthouse_a, landlord_a.user, arrived=now - datetime.timedelta(hours=3), name="李四")
    with time_machine.travel(now + datetime.timedelta(days=364), tick=False):
        retention_run()
    old.refresh_from_db()
    assert old.anonymised_at is None and old.name == "张三"
    with time_machine.travel(now + datetime.timedelta(days=366), tick=False):
        result = retention_run()
    assert result["stays"] == 1
    old.refresh_from_db()
    assert (old.name, old.document_number, old.document_hash, old.anonymised_at is not None) == ("", "", "", True)
    assert old.room == "101" and old.checked_out_at is not None  # the lodging keeps its counts
    staying.refresh_from_db()
    assert staying.name == "李四" and staying.anonymised_at is None  # still in: never
    assert AuditEvent.objects.filter(object_type="lodging.stay", reason="retention").exists()


def test_guests_staying_past_the_limit_are_pointed_out_to_the_station_each_day(landlord_a, guesthouse_a, staff_a,
                                                                                staff_b, settings):
    now = timezone.now()
    make(guesthouse_a, landlord_a.user, arrived=now - datetime.timedelta(days=29, hours=23))
    assert reminders_send()["long_stays"] == 0  # not yet 30 days
    make(guesthouse_a, landlord_a.user, arrived=now - datetime.timedelta(days=31), name="李四")
    assert reminders_send()["long_stays"] == 1
    note = Notification.objects.get(user=staff_a, kind="long_stays")
    assert "?status=long" in note.url and "李四" not in note.title
    assert not Notification.objects.filter(user=staff_b, kind="long_stays").exists()
    assert reminders_send()["long_stays"] == 0  # once a day
    assert Stay.objects.long().count() == 1
