"""The workspace's own table: the dashboards' kept figures (``workspace/tallies.py``)."""

from django.db import models


class Tally(models.Model):
    """How many rows of one kind a station has on one day, as a delta: a figure is the sum of its rows.

    Written only by database triggers (``workspace/tallies.py``) and folded by ``tally_compact``; never edited.
    ``station_id`` is a plain number, not a foreign key: a delta must never block or be blocked by a station's
    row, and the figures of a station that is gone are simply never read."""

    station_id = models.IntegerField(editable=False)
    kind = models.CharField(max_length=12, editable=False)
    day = models.DateField(editable=False)
    label = models.CharField(max_length=40, editable=False)
    n = models.IntegerField(editable=False)

    class Meta:
        default_permissions = ()
        indexes = [models.Index(fields=["station_id", "kind", "day"], name="tally_station_kind_day")]

    def __str__(self):
        return f"{self.station_id} {self.kind} {self.day} {self.label}: {self.n:+d}"
