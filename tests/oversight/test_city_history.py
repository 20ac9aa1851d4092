"""The generated city's audit history (issue 16, point 6): staff at work for 30 days, about ten events per person,
and one planted pattern per rule that the nightly flagging finds, with nothing else flagged."""

import datetime
import io

from django.core.management import call_command
from django.db.models.functions import ExtractHour
from django.utils import timezone

from oversight.models import AccessFlag, RuleChoices
from oversight.rules import flags_for
from registry.models import AuditEvent, Profile


def _generate():
    out = io.StringIO()
    call_command("generate_city", "--persons", "2000", "--stations", "5", "--communities", "20", stdout=out)
    planted = set()
    for line in out.getvalue().splitlines():
        if "] planted " in line:
            rule, username, day = line.split("] planted ")[1].split()
            planted.add((rule, username, datetime.date.fromisoformat(day)))
    return planted


def test_the_flagging_finds_the_planted_patterns_and_nothing_else(db):
    planted = _generate()
    assert {rule for rule, _user, _day in planted} == set(RuleChoices.values)
    today = timezone.localdate()
    for back in range(1, 32):  # every day of the history, as the nightly task would have run them
        flags_for(today - datetime.timedelta(days=back))
    assert set(AccessFlag.objects.values_list("rule", "actor_username", "day")) == planted


def test_the_history_is_staff_at_work_in_their_own_station(db):
    planted = _generate()
    events = AuditEvent.objects.all()
    assert 16_000 <= events.count() <= 24_000  # about ten per person
    staff = dict(Profile.objects.filter(user__username__startswith="city_s").values_list("user_id", "station_id"))
    assert len(staff) == 25  # five per station at this size
    assert set(events.values_list("actor_id", flat=True)) == set(staff)
    for actor_id, station_id in events.values_list("actor_id", "station_id").distinct():
        assert staff[actor_id] == station_id
    # Working hours, except the one planted pattern after them.
    late = events.annotate(hour=ExtractHour("at", tzinfo=timezone.get_current_timezone())).filter(hour__gte=18)
    assert set(late.values_list("actor_username", flat=True)) == {u for rule, u, _d in planted if rule == "after_hours"}
    assert events.filter(action="view").count() > events.filter(action="update").count() > 0
