"""Feed positions in bounded steps: a reader numbers a batch at most, a burst is settled in the background."""

from rest_framework.test import APIClient

from persons.factories import PersonFactory
from registry import changes
from registry.models import ChangeLog


def _pending():
    return ChangeLog.objects.filter(seq__isnull=True).count()


def test_a_limited_step_numbers_the_oldest_changes_after_every_position_given(station_a):
    changes.changes_sequence()
    PersonFactory.create_batch(3, registered_station=station_a)
    ids = list(ChangeLog.objects.filter(seq__isnull=True).order_by("id").values_list("id", flat=True))
    assert len(ids) >= 3
    top = max(ChangeLog.objects.exclude(seq=None).values_list("seq", flat=True), default=0)
    assert changes.changes_sequence(limit=2) == 2
    first = dict(ChangeLog.objects.filter(id__in=ids).exclude(seq=None).values_list("id", "seq"))
    assert first == {ids[0]: top + 1, ids[1]: top + 2}
    assert changes.changes_sequence(limit=2) == min(2, len(ids) - 2)
    assert changes.changes_sequence() == max(len(ids) - 4, 0) and _pending() == 0
    seqs = list(ChangeLog.objects.filter(id__in=ids).order_by("id").values_list("seq", flat=True))
    assert seqs == sorted(seqs) and len(set(seqs)) == len(seqs)


def test_the_feed_reader_numbers_one_batch_and_sees_the_rest_later(staff_a, station_a, monkeypatch):
    from registry.api import views

    monkeypatch.setattr(views, "READER_BATCH", 2)
    PersonFactory.create_batch(3, registered_station=station_a)
    changes.changes_sequence(limit=0)
    pending = _pending()
    assert pending >= 3
    client = APIClient()
    client.force_authenticate(staff_a)
    first = client.get("/api/v1/changes/", {"after": 0, "limit": 500}).json()
    assert _pending() == pending - 2
    rest = client.get("/api/v1/changes/", {"after": first["next_cursor"], "limit": 500}).json()
    assert rest["results"] and min(r["cursor"] for r in rest["results"]) > first["next_cursor"]


def test_settling_numbers_a_burst_in_steps(station_a, monkeypatch):
    monkeypatch.setattr(changes, "SETTLE_BATCH", 2)
    PersonFactory.create_batch(5, registered_station=station_a)
    pending = _pending()
    assert changes.changes_settle() == pending and _pending() == 0
