"""The change feed's entries are written by hand (a page is up to 500): exactly what DRF's fields would write."""

import datetime
import json

from django.utils import timezone
from rest_framework import serializers

from registry.api.serializers import ChangeSerializer
from registry.models import ChangeAction, ChangeLog

UTC = datetime.UTC


def _drf(serializer, entry) -> dict:
    """DRF's own representation (``Serializer.to_representation``), with the feed's rule for an owner's record
    that left their view."""
    data = serializers.ModelSerializer.to_representation(serializer, entry)
    if not getattr(entry, "readable_now", True):
        data["action"], data["version"] = "delete", None
    return data


def test_every_kind_of_entry_is_written_as_drf_writes_it():
    moments = [datetime.datetime(2026, 12, 7, 3, 4, 5, 123456, tzinfo=UTC),
               datetime.datetime(2026, 1, 1, 0, 0, tzinfo=UTC),
               datetime.datetime(2026, 6, 30, 23, 59, 59, tzinfo=datetime.timezone(datetime.timedelta(hours=8)))]
    entries = []
    for n, (at, action, version) in enumerate([(moments[0], ChangeAction.CREATE, 1),
                                               (moments[1], ChangeAction.UPDATE, 7),
                                               (moments[2], ChangeAction.DELETE, None)]):
        entries.append(ChangeLog(seq=1000 + n, at=at, object_type="persons.person", object_id=str(40 + n),
                                 action=action, version=version))
    gone = ChangeLog(seq=2000, at=moments[0], object_type="housing.property", object_id="9", action="update",
                     version=3)
    gone.readable_now = False
    entries.append(gone)
    serializer = ChangeSerializer()
    for zone in ("Asia/Shanghai", "UTC"):
        with timezone.override(zone):
            for entry in entries:
                ours, theirs = serializer.to_representation(entry), _drf(serializer, entry)
                assert json.dumps(ours) == json.dumps(theirs)  # the same keys, values and order
    assert serializer.to_representation(gone)["action"] == "delete"
    assert set(ChangeSerializer.Meta.fields) == set(serializer.to_representation(entries[0]))


def test_a_page_many_at_once():
    entries = [ChangeLog(seq=n, at=datetime.datetime(2026, 12, 7, tzinfo=UTC), object_type="housing.residence",
                         object_id=str(n), action=ChangeAction.UPDATE, version=n) for n in range(1, 4)]
    page = ChangeSerializer(entries, many=True).data
    assert [row["cursor"] for row in page] == [1, 2, 3]
    assert page[0]["at"] == timezone.localtime(entries[0].at).isoformat()
