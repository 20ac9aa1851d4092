"""A generated city's audit history (issue 16, point 6): the station staff who work in it, and their last
``days`` days of activity as the audit trail records it, with a few unusual patterns planted for the nightly
flagging (``oversight/rules.py``) to find.

Each station gets its staff (accounts without a usable password; one per thousand persons of the station,
5 to 20). Each of them works most days (one day in seven off), from 08:00 to 18:00 local time: signs in,
reads persons, residences and properties of their own station, registers and corrects a few, unmasks an ID
number now and then, sometimes exports a list of a few hundred rows, and signs out. The persons they read
are ones registered at their station who never lived at another, so none of it is "without a work link".
About ``events_per_person`` events per person in all (10 million at a million persons).

Planted on the last day, each by its own staff member of the first station, just past the thresholds in
``REGISTRY["ACCESS_FLAGS"]`` as they are when the city is generated: many distinct persons read (``floor`` and
``factor`` times the user's median), persons of another station read, too many unmaskings, reads after hours,
an export larger than ``export_rows``. ``plants`` lists them; nothing else in the history breaks a rule.

Rows go straight to the table (``COPY`` on PostgreSQL, ``executemany`` elsewhere) and are not sealed into the
audit chain: a synthetic city is for measuring, and the first ``audit_seal`` run seals them if anyone asks.
"""

import datetime
import io
import json
from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db import connection
from django.utils import timezone

from registry.models import Profile, RoleChoices

COLUMNS = ["at", "actor_id", "actor_username", "action", "object_type", "object_id", "station_id", "changes",
           "reason", "ip_address", "via"]
CHUNK = 100_000
WORK_START = 8  # local hour the generated working day begins
WORK_SECONDS = 10 * 3600
PERSON, RESIDENCE, PROPERTY = "persons.person", "housing.residence", "housing.property"
# Shares of a working day's events after signing in (the rest of 1.0 is reads of persons).
SHARES = [(0.15, "view", RESIDENCE), (0.10, "view", PROPERTY), (0.04, "update", RESIDENCE),
          (0.02, "update", PERSON), (0.02, "create", RESIDENCE), (0.02, "create", PERSON)]
REPEAT = 0.25  # a read of a person already read that day
NO_CHANGES = "{}"


@dataclass(frozen=True)
class Plant:
    rule: str
    username: str
    day: datetime.date


def staff_per_station(persons: int, stations: int) -> int:
    return max(5, min(20, persons // (stations * 1000)))


def station_staff(station_ids: list[int], per_station: int) -> dict[int, list[tuple[int, str]]]:
    """Each station's generated staff accounts (made once; a second city run reuses them)."""
    user_model = get_user_model()
    wanted = {f"city_s{index:02d}_staff{n:02d}": station_id for index, station_id in enumerate(station_ids)
              for n in range(1, per_station + 1)}
    existing = set(user_model.objects.filter(username__in=wanted).values_list("username", flat=True))
    new = []
    for username in wanted:
        if username not in existing:
            user = user_model(username=username)
            user.set_unusable_password()
            new.append(user)
    user_model.objects.bulk_create(new, batch_size=1000)
    users = dict(user_model.objects.filter(username__in=wanted).values_list("username", "pk"))
    with_profile = set(Profile.objects.filter(user_id__in=users.values()).values_list("user_id", flat=True))
    Profile.objects.bulk_create([Profile(user_id=users[name], role=RoleChoices.STAFF, station_id=station_id)
                                 for name, station_id in wanted.items() if users[name] not in with_profile],
                                batch_size=1000)
    group, _ = Group.objects.get_or_create(name=RoleChoices.STAFF)
    group.user_set.add(*users.values())
    staff = {station_id: [] for station_id in station_ids}
    for name, station_id in wanted.items():
        staff[station_id].append((users[name], name))
    return staff


class AuditHistory:
    """Writes the history; ``persons``, ``residences`` and ``properties`` are each station's ids."""

    def __init__(self, *, rng, today: datetime.date, days: int, events_per_person: int, person_count: int,
                 staff: dict[int, list[tuple[int, str]]], persons: dict[int, list[int]],
                 residences: dict[int, list[int]], properties: dict[int, list[int]]):
        self.rng, self.today, self.days = rng, today, days
        self.staff, self.persons, self.residences, self.properties = staff, persons, residences, properties
        users = sum(len(v) for v in staff.values())
        # One day in seven off: the working days carry the whole volume.
        self.per_day = events_per_person * person_count / max(users * days * 6 / 7, 1)
        self.postgres = connection.vendor == "postgresql"
        self.pending, self.total, self.plants = [], 0, []
        self.zone = timezone.get_current_timezone()

    # --- writing ------------------------------------------------------------------------------------

    def _at(self, day: datetime.date, second: int, hour: int = WORK_START) -> str:
        local = datetime.datetime.combine(day, datetime.time(hour), tzinfo=self.zone) + datetime.timedelta(
            seconds=second)
        text = local.astimezone(datetime.UTC).strftime("%Y-%m-%d %H:%M:%S")
        return text + "+00" if self.postgres else text

    def _add(self, at, user, station_id, action, object_type="", object_id="", changes=NO_CHANGES, reason=""):
        user_id, username, ip = user
        self.pending.append((at, user_id, username, action, object_type, object_id, station_id, changes, reason, ip,
                             "web"))
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self):
        if not self.pending:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                buffer = io.StringIO()
                buffer.writelines("\t".join(map(str, row)) + "\n" for row in self.pending)
                buffer.seek(0)
                cursor.cursor.copy_expert(f"COPY registry_auditevent ({', '.join(COLUMNS)}) FROM STDIN", buffer)
            else:
                marks = ", ".join(["%s"] * len(COLUMNS))
                cursor.executemany(f"INSERT INTO registry_auditevent ({', '.join(COLUMNS)}) VALUES ({marks})",  # noqa: S608
                                   self.pending)
        self.total += len(self.pending)
        self.pending = []

    # --- the history ----------------------------------------------------------------------------------

    def write(self) -> int:
        first = self.today - datetime.timedelta(days=self.days)
        self.distinct = {}  # (user id, day) -> distinct persons read, for the planted users' medians
        planted_users = [u for u, _name in self.staff[next(iter(self.staff))][:5]]
        for station_id, users in self.staff.items():
            for user_id, username in users:
                user = (user_id, username, f"10.{station_id % 250}.{user_id // 250 % 250}.{user_id % 250 + 1}")
                for offset in range(self.days):
                    if self.rng.random() < 1 / 7:
                        continue
                    day = first + datetime.timedelta(days=offset)
                    read = self.working_day(user, station_id, day)
                    if user_id in planted_users:
                        self.distinct[(user_id, day)] = len(read)
        self.plant()
        self.flush()
        return self.total

    def working_day(self, user, station_id: int, day: datetime.date) -> set:
        rng = self.rng
        count = max(round(self.per_day * rng.uniform(0.8, 1.2)), 6)
        seconds = sorted(rng.randrange(WORK_SECONDS) for _ in range(count))
        persons, read = self.persons[station_id], set()
        self._add(self._at(day, seconds[0]), user, station_id, "login")
        self._add(self._at(day, seconds[0]), user, station_id, "otp_verified")
        for second in seconds[1:-1]:
            at, roll = self._at(day, second), rng.random()
            for share, action, object_type in SHARES:
                if roll < share:
                    pool = persons if object_type == PERSON else self.residences[station_id] \
                        if object_type == RESIDENCE else self.properties[station_id]
                    self._add(at, user, station_id, action, object_type, rng.choice(pool))
                    break
                roll -= share
            else:
                person = rng.choice(list(read)) if read and rng.random() < REPEAT else rng.choice(persons)
                read.add(person)
                self._add(at, user, station_id, "view", PERSON, person)
        for _ in range(rng.choice([0, 0, 0, 1, 1, 2, 3])):
            person = rng.choice(persons)
            read.add(person)
            self._add(self._at(day, rng.randrange(WORK_SECONDS)), user, station_id, "unmask", PERSON, person,
                      reason="核对身份")
        if rng.random() < 0.1:
            rows = rng.randrange(20, 800)
            self._add(self._at(day, rng.randrange(WORK_SECONDS)), user, station_id, "export", PERSON,
                      changes=json.dumps({"rows": rows, "filters": {}}))
        self._add(self._at(day, seconds[-1]), user, station_id, "logout")
        return read

    def plant(self):
        """One unusual pattern per rule, on the last day, each by its own staff member of the first station."""
        rules, rng = settings.REGISTRY["ACCESS_FLAGS"], self.rng
        day = self.today - datetime.timedelta(days=1)
        station_id, other = list(self.staff)[0], list(self.staff)[-1]
        users = [(user_id, name, f"10.0.0.{n + 1}") for n, (user_id, name) in enumerate(self.staff[station_id][:5])]
        persons = self.persons[station_id]
        if len(users) < 5 or station_id == other:
            raise ValueError("the planted patterns need two stations and five staff at the first")

        def at(second, hour=WORK_START):
            return self._at(day, second, hour)

        # (a) many persons: the user's own median, times the factor, and the floor, passed by a margin.
        many = users[0]
        before = sorted(n for (user_id, d), n in self.distinct.items() if user_id == many[0] and d < day)
        median = before[len(before) // 2] if before else 0
        target = int(max(rules["floor"], rules["factor"] * median) * 1.3) + 5
        already = self.distinct.get((many[0], day), 0)
        fresh = rng.sample(persons, min(len(persons), target))
        if already + len(fresh) <= max(rules["floor"], rules["factor"] * median):
            raise ValueError("the city is too small for the planted 'many persons' pattern")
        for person in fresh:
            self._add(at(rng.randrange(WORK_SECONDS)), many, station_id, "view", PERSON, person)
        # (b) persons of another station, with no work link to this one.
        strangers = rng.sample(self.persons[other], rules["min_persons"] + 3)
        for person in strangers:
            self._add(at(rng.randrange(WORK_SECONDS)), users[1], station_id, "view", PERSON, person)
        # (c) unmaskings past the limit.
        for _ in range(rules["unmaskings"] + 5):
            self._add(at(rng.randrange(WORK_SECONDS)), users[2], station_id, "unmask", PERSON, rng.choice(persons),
                      reason="核对身份")
        # (d) reads after working hours.
        late_hour = (rules["working_hours"][1] + 1) % 24
        for _ in range(rules["after_hours_min"] + 2):
            self._add(at(rng.randrange(1800), late_hour), users[3], station_id, "view", PERSON, rng.choice(persons))
        # (e) one export larger than the limit.
        self._add(at(rng.randrange(WORK_SECONDS)), users[4], station_id, "export", PERSON,
                  changes=json.dumps({"rows": rules["export_rows"] * 5, "filters": {}}))
        self.plants = [Plant(rule, user[1], day) for rule, user in
                       zip(["many_persons", "no_work_link", "unmaskings", "after_hours", "large_export"], users,
                           strict=True)]
