"""A synthetic city for benchmarks: ``manage.py generate_city --persons 1000000``.

Shape follows PRODUCT.md: per million persons 200k properties, 600k units, 1.2M residences; 50
stations and 500 communities in one district (``--districts`` splits them); about 43% of current
residents in rentals, 24% in employer dormitories and the rest in owner-occupied or non-residential
premises; arrivals peaking in March, departures in November; some overcrowded units, late reports
and overdue verifications. Beside them: safety inspections, residence permits (a few expiring), the
owners' reports behind the landlord- and employer-sourced registrations of the last year (some late,
a few still waiting for review), dormitory residents' employments, and the change feed's entries for
every record written. Names are Faker zh_CN with a few compound-surname and transliterated
(``·``) names; ID numbers carry real GB/T 2260 region codes and valid check digits; a person's
registering station is that of their first residence.

Rows are written with PostgreSQL ``COPY`` (``executemany`` on SQLite) in large chunks with explicit
ids, several tables filled in one pass; on PostgreSQL the secondary indexes are dropped before the
load and rebuilt after it, then the tables are vacuumed and analysed. Synthetic bulk rows bypass the
audit trail on purpose (the feed entries are written directly); instead each station gets its staff and the
audit trail their last ``--audit-days`` days of work, about ``--audit-events-per-person`` events per person,
with one planted pattern per access-flag rule (``workspace/city_audit.py``).
"""

import datetime
import io
import random
import time
from bisect import bisect
from itertools import accumulate

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.zh_CN import Provider as ChineseNames
from pypinyin import Style, lazy_pinyin

from persons.identity import current_region_codes
from persons.models import Person
from registry.crypto import encrypt
from registry.models import ChangeLog, Community, District, Station
from workspace.city_audit import AuditHistory, staff_per_station, station_staff
from workspace.tallies import fill

CHUNK = 50_000
TABLES = ["persons_person", "persons_employer", "persons_employment", "housing_landlord", "housing_property",
          "housing_unit", "housing_residence", "patrol_inspection", "patrol_residencepermit", "portal_submission",
          "registry_changelog", "registry_auditevent", "lodging_stay", "persons_searchentry"]
# The tables whose triggers keep each station's search entries (persons.models.SearchEntry): off for the load on
# PostgreSQL (a trigger per row), the entries then written in one statement; the dashboards' figures kept from
# the residences (workspace/tallies.py) are counted afresh after it too.
TRIGGERED = ["persons_person", "housing_residence"]
SEARCH_ENTRIES = """
INSERT INTO persons_searchentry (station_id, person_id, name, name_pinyin, name_initials)
SELECT registered_station_id, id, name, name_pinyin, name_initials FROM persons_person
 WHERE registered_station_id IS NOT NULL
UNION
SELECT r.station_id, p.id, p.name, p.name_pinyin, p.name_initials
  FROM housing_residence r JOIN persons_person p ON p.id = r.person_id WHERE r.registered_elsewhere
ON CONFLICT (station_id, person_id) DO NOTHING
"""
PROPERTY_TYPES = [("flat", 38), ("self_built", 27), ("group_rental", 8), ("dormitory", 5), ("owner_occupied", 20),
                  ("non_residential", 2)]
RENTAL_TYPES = {"flat", "self_built", "group_rental"}
# Where current residents live (PRODUCT.md: 43% rent, 24% in employer dormitories).
HOUSING_SHARES = [("rental", 43), ("dormitory", 24), ("other", 33)]
# Month weights for arrivals (peak in March) and departures (peak in November).
ARRIVAL_MONTHS = [6, 8, 20, 10, 8, 7, 7, 7, 7, 7, 6, 7]
DEPARTURE_MONTHS = [7, 9, 6, 6, 6, 6, 7, 7, 7, 8, 22, 9]
COMPOUND_SURNAMES = ["欧阳", "司马", "上官", "诸葛", "东方", "皇甫", "慕容", "公孙", "司徒", "令狐"]
# Parts of transliterated (Uyghur, Kazakh...) names, joined with the middle dot.
TRANSLITERATED = ["阿卜杜拉", "艾买提", "买买提", "热依拉", "古丽", "努尔", "阿依古丽", "吐尔逊", "艾力", "帕提古丽",
                  "依明", "阿布都", "迪丽热巴", "木合塔尔", "巴哈尔"]
REASONS = ["work", "work", "work", "business", "study", "family", "medical", "other"]
RENTAL_SOURCES = ["landlord", "landlord", "landlord", "desk", "desk", "visit", "import", "api"]
DORM_SOURCES = ["employer", "employer", "employer", "desk", "import", "api"]
OTHER_SOURCES = ["desk", "desk", "visit", "import", "api"]
OWNER_SOURCES = {"landlord", "employer"}
PERMIT_SHARE = 0.12  # of residents here at least six months: few migrants apply (PRODUCT.md)
WAITING_REPORT_SHARE = 0.003
DEADLINE_DAYS = 3
# Why ended residences ended (most left the district; some moved within it).
END_REASONS = ["left_district"] * 11 + ["moved_within"] * 6 + ["other"] * 2 + ["deceased"]
LODGING_TYPES = [("hotel", 2), ("guesthouse", 5), ("homestay", 3)]
PERSONS_PER_LODGING = 500
GUEST_RESIDENT_SHARE = 0.05  # of registered persons, whose numbers some guests carry


class Loader:
    """Rows for several tables at once, each flushed in chunks: COPY on PostgreSQL, executemany elsewhere."""

    def __init__(self, command):
        self.command = command
        self.columns, self.pending, self.totals = {}, {}, {}

    def table(self, table, columns):
        self.columns[table], self.pending[table], self.totals[table] = columns, [], 0

    def add(self, table, row):
        chunk = self.pending[table]
        chunk.append(row)
        if len(chunk) >= CHUNK:
            self.flush(table)

    def flush(self, table=None):
        for name in [table] if table else list(self.pending):
            chunk = self.pending[name]
            if chunk:
                _write(name, self.columns[name], chunk)
                self.totals[name] += len(chunk)
                self.pending[name] = []

    def finish(self):
        self.flush()
        for name, total in self.totals.items():
            self.command.say(f"{name}: {total} rows")
        self.columns, self.pending, self.totals = {}, {}, {}


class Command(BaseCommand):
    help = "Generate a synthetic city of N persons for benchmarks (see docs/performance.md)."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=10_000)
        parser.add_argument("--districts", type=int, default=1)
        parser.add_argument("--stations", type=int, default=50)
        parser.add_argument("--communities", type=int, default=500)
        parser.add_argument("--seed", type=int, default=2026)
        parser.add_argument("--audit-days", type=int, default=30,
                            help="days of staff activity in the audit trail (0: none)")
        parser.add_argument("--audit-events-per-person", type=int, default=10)

    def handle(self, *args, persons, districts, stations, communities, seed, audit_days, audit_events_per_person,
               **options):
        if persons < 100:
            raise CommandError("--persons must be at least 100")
        if not 1 <= districts <= stations <= communities:
            raise CommandError("need 1 <= --districts <= --stations <= --communities")
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        self.now = timezone.now()
        self.started = time.monotonic()
        self.pinyin_cache = {}
        self.regions = current_region_codes()
        postgres = connection.vendor == "postgresql"
        dropped = self.drop_indexes() if postgres else []
        try:
            with transaction.atomic():
                if postgres:
                    self.triggers("DISABLE")
                self.prepare_names()
                self.jurisdiction(districts, stations, communities)
                self.feed_start()
                self.employers(max(persons // 200, 5))
                self.landlords_and_properties(persons)
                self.people_and_residences(persons)
                self.lodgings_and_stays(persons)
                if postgres:
                    self.triggers("ENABLE")
                    self.search_entries()
                    self.tallies()
                if audit_days > 0:
                    self.audit_history(persons, audit_days, audit_events_per_person)
        finally:
            if postgres:
                self.restore_indexes(dropped)
                self.reset_sequences()
                self.vacuum()
        self.say(f"done: {persons} persons")

    # --- helpers -------------------------------------------------------------------------------

    def say(self, message):
        self.stdout.write(f"[{time.monotonic() - self.started:7.1f}s] {message}")

    def next_id(self, table):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (fixed table names)
            return cursor.fetchone()[0] + 1

    def pinyin(self, name):
        cached = self.pinyin_cache.get(name)
        if cached is None:
            syllables = [s for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.isalpha()]
            cached = self.pinyin_cache[name] = ("".join(syllables).lower(), "".join(s[0] for s in syllables).lower())
        return cached

    def prepare_names(self):
        last = ChineseNames.last_names
        self.surnames = list(last.keys()) if isinstance(last, dict) else list(last)
        self.surname_cumulative = list(accumulate(last.values() if isinstance(last, dict) else [1] * len(last)))
        self.given_names = [n[1:] if len(n) > 1 else n for n in ChineseNames.first_names]

    def name(self):
        """A name, its full pinyin and its initials: mostly surname + one or two characters."""
        rng = self.rng
        roll = rng.random()
        if roll < 0.01:
            parts = rng.sample(TRANSLITERATED, 2)
            name = "·".join(parts)
            full, initials = zip(*(self.pinyin(p) for p in parts), strict=True)
            return name, "".join(full), "".join(initials)
        if roll < 0.015:
            surname = rng.choice(COMPOUND_SURNAMES)
        else:
            surname = self.surnames[bisect(self.surname_cumulative, rng.random() * self.surname_cumulative[-1])]
        given = rng.choice(self.given_names)
        if rng.random() < 0.45:
            given += rng.choice(self.given_names)
        full_pinyin, initials = self.pinyin(surname)
        given_pinyin, given_initials = self.pinyin(given)
        return surname + given, full_pinyin + given_pinyin, initials + given_initials

    def resident_id(self, born, sex):
        rng = self.rng
        seq = rng.randrange(0, 1000)
        if (seq % 2 == 1) != (sex == "M"):
            seq = (seq + 1) % 1000
        body = f"{rng.choice(self.regions)}{born:%Y%m%d}{seq:03d}"
        return body + _check_digit(body)

    def date_in_month_weighted(self, weights, start, end):
        """A date between start and end whose month follows ``weights``."""
        top = max(weights)
        span = (end - start).days + 1
        while True:
            day = start + datetime.timedelta(days=self.rng.randrange(span))
            if self.rng.random() * top <= weights[day.month - 1]:
                return day

    def days(self, n):
        return datetime.timedelta(days=n)

    # --- the change feed ---------------------------------------------------------------------------

    def feed_start(self):
        with connection.cursor() as cursor:
            cursor.execute("SELECT COALESCE(MAX(seq), 0) FROM registry_changelog")
            self.feed_seq = cursor.fetchone()[0]
        self.feed_id = self.next_id("registry_changelog")
        # Every column the model has (the feed grows columns); the ones not set here take their default.
        fields = [f for f in ChangeLog._meta.concrete_fields]
        self.feed_columns = [f.column for f in fields]
        self.feed_defaults = {f.column: (f.get_default() if f.has_default() else None) for f in fields}
        self.feed_loader = None

    def feed(self, loader, object_type, object_id, station_id, landlord_id=None, employer_id=None):
        self.feed_seq += 1
        values = dict(self.feed_defaults, id=self.feed_id, seq=self.feed_seq, at=self.now, object_type=object_type,
                      object_id=str(object_id), action="create", version=1, station_id=station_id,
                      landlord_id=landlord_id, employer_id=employer_id)
        self.feed_id += 1
        loader.add("registry_changelog", tuple(values[c] for c in self.feed_columns))

    # --- data ----------------------------------------------------------------------------------

    def jurisdiction(self, districts, stations, communities):
        district_ids = []
        for n in range(districts):
            code = "CITY" if n == 0 else f"CITY-D{n + 1}"
            district, _ = District.objects.get_or_create(code=code, defaults={"name": f"基准{n + 1}区"})
            district_ids.append(district.pk)
        self.station_ids = []
        for n in range(stations):
            defaults = {"district_id": district_ids[n % districts], "name": f"第{n + 1}派出所"}
            station, _ = Station.objects.get_or_create(code=f"CITY-S{n:02d}", defaults=defaults)
            self.station_ids.append(station.pk)
        self.communities = []  # (community id, station id)
        for n in range(communities):
            station_id = self.station_ids[n % stations]
            community, _ = Community.objects.get_or_create(
                code=f"CITY-C{n:03d}", defaults={"station_id": station_id, "name": f"第{n + 1}社区"})
            self.communities.append((community.pk, station_id))
        self.say(f"{districts} district(s), {stations} stations, {communities} communities")

    def employers(self, count):
        from stdnum.cn.uscc import calc_check_digit

        self.first_employer = self.next_id("persons_employer")
        loader = Loader(self)
        loader.table("persons_employer", ["id", "name", "uscc", "address", "contact_name", "contact_phone",
                                          "station_id", "user_id", "created_at", "updated_at", "version"])
        loader.table("registry_changelog", self.feed_columns)
        for n in range(count):
            pk = self.first_employer + n
            body = f"91110000{pk:09d}"
            station_id = self.station_ids[n % len(self.station_ids)]
            loader.add("persons_employer", (pk, f"基准企业{n + 1}有限公司", body + calc_check_digit(body), "", "", "",
                                            station_id, None, self.now, self.now, 1))
            self.feed(loader, "persons.employer", pk, station_id, employer_id=pk)
        loader.finish()
        self.employer_count = count

    def landlords_and_properties(self, persons):
        property_count = max(persons // 5, 20)
        landlord_count = max(property_count * 3 // 5, 10)
        rng, today, now = self.rng, self.today, self.now
        self.first_landlord = self.next_id("housing_landlord")
        loader = Loader(self)
        loader.table("housing_landlord", ["id", "document_type", "document_country", "document_number",
                                          "document_hash", "document_head_hash", "document_tail_hash", "name",
                                          "name_pinyin", "name_initials", "phone", "address", "station_id",
                                          "user_id", "created_at", "updated_at", "version"])
        loader.table("registry_changelog", self.feed_columns)
        seen = set()
        for n in range(landlord_count):
            while True:
                number = self.resident_id(datetime.date(rng.randrange(1950, 1985), rng.randrange(1, 13),
                                                        rng.randrange(1, 29)), "M" if rng.random() < 0.6 else "F")
                if number not in seen:
                    seen.add(number)
                    break
            name, full, initials = self.name()
            pk, station_id = self.first_landlord + n, rng.choice(self.station_ids)
            loader.add("housing_landlord", (
                pk, "resident_id", "", encrypt(number), Person.document_key("resident_id", number),
                Person.part_key("head", number[:6]), Person.part_key("tail", number[-4:]), name, full, initials,
                f"139{rng.randrange(10 ** 8):08d}", "", station_id, None, now, now, 1))
            self.feed(loader, "housing.landlord", pk, station_id, landlord_id=pk)
        loader.finish()

        kinds = [k for k, _ in PROPERTY_TYPES]
        cumulative = list(accumulate(w for _, w in PROPERTY_TYPES))
        self.first_property = self.next_id("housing_property")
        self.properties = []  # (id, station id, kind, landlord id, employer id)
        loader.table("housing_property", ["id", "registration_number", "address", "property_type", "community_id",
                                          "station_id", "landlord_id", "employer_id", "agreement_signed_on",
                                          "created_at", "updated_at", "version"])
        loader.table("patrol_inspection", ["id", "property_id", "inspected_on", "inspector_id", "fire_extinguishers",
                                           "escape_routes", "wiring", "partitions", "gas", "passed", "notes",
                                           "created_at"])
        loader.table("registry_changelog", self.feed_columns)
        inspection_id = self.next_id("patrol_inspection")
        for n in range(property_count):
            pk = self.first_property + n
            community_id, station_id = self.communities[n % len(self.communities)]
            kind = rng.choices(kinds, cum_weights=cumulative)[0]
            landlord = None if kind in ("dormitory", "owner_occupied") else self.first_landlord + rng.randrange(
                landlord_count)
            employer = self.first_employer + rng.randrange(self.employer_count) if kind == "dormitory" else None
            signed = today - self.days(rng.randrange(30, 1500)) if rng.random() < 0.8 and kind != "owner_occupied" \
                else None
            self.properties.append((pk, station_id, kind, landlord, employer))
            loader.add("housing_property", (pk, f"{station_id:03d}-{pk:07d}", f"基准路{n // 40 + 1}号{n % 40 + 1}栋",
                                            kind, community_id, station_id, landlord, employer, signed, now, now, 1))
            self.feed(loader, "housing.property", pk, station_id, landlord, employer)
            # Most rentals and dormitories had a safety inspection in the last two years; some failed.
            if kind != "owner_occupied" and rng.random() < 0.7:
                checks = [rng.random() < 0.97 for _ in range(5)]
                loader.add("patrol_inspection", (inspection_id, pk, today - self.days(rng.randrange(5, 730)), None,
                                                 *checks, all(checks), "", now))
                inspection_id += 1
        loader.finish()

        self.first_unit = self.next_id("housing_unit")
        self.units = {"rental": [], "dormitory": [], "other": []}  # (unit id, property index, capacity)
        target_units = persons * 3 // 5
        loader.table("housing_unit", ["id", "property_id", "label", "capacity", "created_at", "version"])
        loader.table("registry_changelog", self.feed_columns)
        pk, index = self.first_unit, 0
        while pk - self.first_unit < target_units:
            position = index % len(self.properties)
            prop_id, station_id, kind, landlord, employer = self.properties[position]
            pool = "dormitory" if kind == "dormitory" else "rental" if kind in RENTAL_TYPES else "other"
            for label in range(1, (6 if kind == "dormitory" else 3) + 1):
                capacity = 8 if kind == "dormitory" else rng.choice([1, 2, 2, 3, 4])
                self.units[pool].append((pk, position, capacity))
                loader.add("housing_unit", (pk, prop_id, f"{label:02d}室", capacity, now, 1))
                self.feed(loader, "housing.unit", pk, station_id, landlord, employer)
                pk += 1
                if pk - self.first_unit >= target_units:
                    break
            index += 1
        loader.finish()
        for pool in ("dormitory", "other"):  # tiny cities may lack a kind: fall back to rentals
            if not self.units[pool]:
                self.units[pool] = self.units["rental"]

    def people_and_residences(self, count):
        """Persons, their residences, permits, employments, owners' reports and feed entries, in one pass."""
        rng, today, now = self.rng, self.today, self.now
        key, part = Person.document_key, Person.part_key
        loader = Loader(self)
        loader.table("persons_person", ["id", "document_type", "document_country", "document_number",
                                        "document_hash", "document_head_hash", "document_tail_hash", "name",
                                        "name_pinyin", "name_initials", "sex", "birth_date", "phone",
                                        "hukou_address", "occupation", "registered_station_id", "anonymised_at",
                                        "created_at", "updated_at", "version"])
        loader.table("housing_residence", ["id", "person_id", "unit_id", "station_id", "start_date", "end_date",
                                           "reason", "source", "status", "next_verification_due", "reported_on",
                                           "end_reported_on", "note", "created_by_id", "created_at", "updated_at",
                                           "version", "registered_elsewhere", "end_reason",
                                           "ended_via"])
        loader.table("persons_employment", ["id", "person_id", "employer_id", "job_title", "start_date", "end_date",
                                            "created_at"])
        loader.table("patrol_residencepermit", ["id", "person_id", "station_id", "number", "issued_on", "expires_on",
                                                "last_endorsed_on", "created_at"])
        submission_columns = ["id", "document_type", "document_country", "document_number", "document_hash",
                              "document_head_hash", "document_tail_hash", "kind", "property_id", "unit_id",
                              "station_id", "name", "phone", "birth_date", "sex", "reason", "residence_id", "date",
                              "reported_on", "is_late", "status", "submitted_by_id", "decided_by_id", "decided_at",
                              "rejection_reason", "created_at", "updated_at", "version"]
        loader.table("portal_submission", submission_columns)
        loader.table("registry_changelog", self.feed_columns)
        person_id, residence_id = self.next_id("persons_person"), self.next_id("housing_residence")
        employment_id, permit_id = self.next_id("persons_employment"), self.next_id("patrol_residencepermit")
        submission_id = self.next_id("portal_submission")
        pools = [name for name, _ in HOUSING_SHARES]
        pool_cumulative = list(accumulate(share for _, share in HOUSING_SHARES))
        occupancy = {}
        two_years_ago, year_ago = today - self.days(730), today - self.days(365)
        seen = set()
        props = self.properties
        # For the audit history: each station's persons who only ever lived there, and its current residences.
        self.local_persons = {station_id: [] for station_id in self.station_ids}
        self.guest_numbers = []  # a few registered persons' numbers: some lodging guests are residents too
        self.current_residences = {station_id: [] for station_id in self.station_ids}

        def pick(units):
            for _ in range(4):  # mostly within capacity; a few end up overcrowded
                unit = rng.choice(units)
                if occupancy.get(unit[0], 0) < unit[2] or rng.random() < 0.03:
                    return unit
            return unit

        def report(kind, unit, date, reported, status, residence, identity, reason):
            nonlocal submission_id
            number, name, phone, born, sex = identity
            prop = props[unit[1]]
            decided = None if status == "waiting" else timezone.make_aware(
                datetime.datetime.combine(reported, datetime.time(10)) + self.days(1))
            created = timezone.make_aware(datetime.datetime.combine(reported, datetime.time(9)))
            loader.add("portal_submission", (
                submission_id, "resident_id", "", encrypt(number), key("resident_id", number),
                part("head", number[:6]), part("tail", number[-4:]), kind, prop[0], unit[0], prop[1], name, phone,
                born, sex, reason, residence, date, reported, (reported - date).days > DEADLINE_DAYS, status, None,
                None, decided, "", created, created, 1))
            self.feed(loader, "portal.submission", submission_id, prop[1], prop[3], prop[4])
            submission_id += 1

        for _ in range(count):
            sex = "M" if rng.random() < 0.54 else "F"
            born = datetime.date(1950, 1, 1) + self.days(rng.randrange(0, 365 * 55))
            while True:
                number = self.resident_id(born, sex)
                if number not in seen:
                    seen.add(number)
                    break
            name, full, initials = self.name()
            phone = f"1{rng.choice('3456789')}{rng.randrange(10 ** 9):09d}"
            identity = (number, name, phone, born, sex)
            pool = pools[bisect(pool_cumulative, rng.random() * pool_cumulative[-1])]
            unit = pick(self.units[pool])
            occupancy[unit[0]] = occupancy.get(unit[0], 0) + 1
            prop = props[unit[1]]
            rows = []
            # About a fifth also have an ended, earlier residence (departures peak in November).
            earlier = None
            if rng.random() < 0.2:
                earlier = rng.choice(self.units["rental"])
                end = self.date_in_month_weighted(DEPARTURE_MONTHS, two_years_ago, today)
                start = end - self.days(rng.randrange(60, 700))
                late = rng.random() < 0.12
                end_reported = end + self.days(rng.randrange(4, 20) if late else rng.randrange(3))
                rows.append((residence_id, person_id, earlier[0], props[earlier[1]][1], start, end, "work", "landlord",
                             "ended", None, start + self.days(rng.randrange(0, 3)), min(end_reported, today), "",
                             None, now, now, 1))
                if end >= year_ago:
                    report("departure", earlier, end, min(end_reported, today), "approved", residence_id, identity,
                           "")
                residence_id += 1
            start = self.date_in_month_weighted(ARRIVAL_MONTHS, two_years_ago, today)
            if earlier is not None:
                start = max(start, rows[0][5])
            late = rng.random() < 0.12
            reported = min(start + self.days(rng.randrange(4, 25) if late else rng.randrange(3)), today)
            # Mostly due in the coming months; some overdue (a few of them by weeks).
            due = today - self.days(rng.randrange(1, 60)) if rng.random() < 0.08 else today + self.days(
                rng.randrange(0, 180))
            status = "unconfirmed" if rng.random() < 0.02 else "active"
            kind = prop[2]
            source = rng.choice(DORM_SOURCES if kind == "dormitory" else RENTAL_SOURCES if kind in RENTAL_TYPES
                                else OTHER_SOURCES)
            reason = rng.choice(REASONS)
            current_id = residence_id
            rows.append((current_id, person_id, unit[0], prop[1], start, None, reason, source, status, due, reported,
                         None, "", None, now, now, 1))
            residence_id += 1
            registered_at = props[earlier[1]][1] if earlier is not None else prop[1]
            self.current_residences[prop[1]].append(current_id)
            if rng.random() < GUEST_RESIDENT_SHARE:
                self.guest_numbers.append((number, name, full, initials))
            if earlier is None:
                self.local_persons[prop[1]].append(person_id)
            loader.add("persons_person", (
                person_id, "resident_id", "", encrypt(number), key("resident_id", number), part("head", number[:6]),
                part("tail", number[-4:]), name, full, initials, sex, born, phone, "", "", registered_at, None, now,
                now, 1))
            self.feed(loader, "persons.person", person_id, prop[1])
            for row in rows:
                loader.add("housing_residence", (*row, row[3] != registered_at,
                                                 rng.choice(END_REASONS) if row[8] == "ended" else "", ""))
                self.feed(loader, "housing.residence", row[0], row[3], *props[
                    (earlier if row[0] != current_id else unit)[1]][3:5])
            if source in OWNER_SOURCES and start >= year_ago:
                report("arrival", unit, start, reported, "approved", current_id, identity, reason)
            if kind == "dormitory":
                loader.add("persons_employment", (employment_id, person_id, prop[4], "", start, None, now))
                self.feed(loader, "persons.employment", employment_id, prop[1], employer_id=prop[4])
                employment_id += 1
            eligible = start + self.days(183)
            if eligible <= today and rng.random() < PERMIT_SHARE:
                issued = max(eligible, today - self.days(360)) + self.days(rng.randrange(0, 30))
                issued = min(issued, today)
                loader.add("patrol_residencepermit", (permit_id, person_id, prop[1], f"JZ{permit_id:012d}", issued,
                                                      issued + self.days(365), None, now))
                self.feed(loader, "patrol.residencepermit", permit_id, prop[1])
                permit_id += 1
            if rng.random() < WAITING_REPORT_SHARE:  # a newcomer reported by an owner, not yet reviewed
                newcomer_born = datetime.date(1960, 1, 1) + self.days(rng.randrange(0, 365 * 45))
                newcomer_sex = rng.choice("MF")
                target = rng.choice(self.units["rental"])
                date = today - self.days(rng.randrange(0, 10))
                newcomer = (self.resident_id(newcomer_born, newcomer_sex), self.name()[0],
                            f"13{rng.randrange(10 ** 9):09d}", newcomer_born, newcomer_sex)
                report("arrival", target, date, min(date + self.days(rng.randrange(0, 6)), today), "waiting", None,
                       newcomer, "work")
            person_id += 1
        loader.finish()

    def lodgings_and_stays(self, count):
        """Small hotels, guesthouses and homestays (one per PERSONS_PER_LODGING persons) run by landlords, with
        rooms, and ``count`` stays over the last year: most checked out, some in now, a few recorded late or
        staying long; a fifth of the guests carry the number of a registered person."""
        rng, now = self.rng, self.now
        key, part = Person.document_key, Person.part_key
        kinds = [k for k, _ in LODGING_TYPES]
        cumulative = list(accumulate(w for _, w in LODGING_TYPES))
        loader = Loader(self)
        loader.table("housing_property", ["id", "registration_number", "address", "property_type", "community_id",
                                          "station_id", "landlord_id", "employer_id", "agreement_signed_on",
                                          "created_at", "updated_at", "version"])
        loader.table("housing_unit", ["id", "property_id", "label", "capacity", "created_at", "version"])
        loader.table("lodging_stay", ["id", "document_type", "document_country", "document_number", "document_hash",
                                      "document_head_hash", "document_tail_hash", "name", "name_pinyin",
                                      "name_initials", "room", "nights", "arrived_at", "checked_in_at", "is_late",
                                      "checked_out_at", "anonymised_at", "created_at", "updated_at", "version",
                                      "checked_in_by_id", "property_id", "station_id"])
        loader.table("registry_changelog", self.feed_columns)
        property_id, unit_id = self.next_id("housing_property"), self.next_id("housing_unit")
        landlord_count = self.next_id("housing_landlord") - self.first_landlord
        lodgings = []  # (id, station id, landlord id, rooms)
        for n in range(max(count // PERSONS_PER_LODGING, 2)):
            community_id, station_id = self.communities[(n * 7) % len(self.communities)]
            kind = rng.choices(kinds, cum_weights=cumulative)[0]
            landlord = self.first_landlord + rng.randrange(landlord_count)
            loader.add("housing_property", (property_id, f"{station_id:03d}-L{property_id:06d}",
                                            f"旅馆街{n // 20 + 1}号{n % 20 + 1}栋", kind, community_id, station_id,
                                            landlord, None, self.today - self.days(rng.randrange(30, 900)), now, now,
                                            1))
            self.feed(loader, "housing.property", property_id, station_id, landlord)
            rooms = [f"{floor}{room:02d}" for floor in range(1, 4) for room in range(1, rng.randrange(3, 9))]
            for label in rooms:
                loader.add("housing_unit", (unit_id, property_id, label, 2, now, 1))
                self.feed(loader, "housing.unit", unit_id, station_id, landlord)
                unit_id += 1
            lodgings.append((property_id, station_id, landlord, rooms))
            property_id += 1
        stay_id = self.next_id("lodging_stay")
        year = 365 * 24 * 3600
        for _ in range(count):
            lodging_id, station_id, landlord, rooms = rng.choice(lodgings)
            if self.guest_numbers and rng.random() < 0.2:
                number, name, full, initials = rng.choice(self.guest_numbers)
            else:
                sex = "M" if rng.random() < 0.6 else "F"
                number = self.resident_id(datetime.date(1960, 1, 1) + self.days(rng.randrange(365 * 45)), sex)
                name, full, initials = self.name()
            arrived = now - datetime.timedelta(seconds=rng.randrange(year))
            nights = rng.choice([1, 1, 1, 2, 2, 3, 4, 7]) if rng.random() > 0.01 else rng.randrange(31, 90)
            late = rng.random() < 0.03
            checked_in = arrived + datetime.timedelta(minutes=rng.randrange(61, 600) if late else rng.randrange(0, 30))
            left = arrived + self.days(nights)
            out = left if left < now else None
            loader.add("lodging_stay", (
                stay_id, "resident_id", "", encrypt(number), key("resident_id", number), part("head", number[:6]),
                part("tail", number[-4:]), name, full, initials, rng.choice(rooms), nights, arrived,
                min(checked_in, now), late, out, None, now, now, 1, None, lodging_id, station_id))
            self.feed(loader, "lodging.stay", stay_id, station_id, landlord)
            stay_id += 1
        loader.finish()

    def audit_history(self, persons, days, events_per_person):
        """The stations' staff and their last ``days`` days in the audit trail (workspace/city_audit.py)."""
        staff = station_staff(self.station_ids, staff_per_station(persons, len(self.station_ids)))
        properties = {station_id: [] for station_id in self.station_ids}
        for pk, station_id, *_rest in self.properties:
            properties[station_id].append(pk)
        history = AuditHistory(rng=self.rng, today=self.today, days=days, events_per_person=events_per_person,
                               person_count=persons, staff=staff, persons=self.local_persons,
                               residences=self.current_residences, properties=properties)
        try:
            written = history.write()
        except ValueError as error:
            raise CommandError(str(error)) from error
        self.say(f"registry_auditevent: {written} rows, {sum(map(len, staff.values()))} staff, {days} days")
        for plant in history.plants:
            self.say(f"planted {plant.rule} {plant.username} {plant.day.isoformat()}")

    # --- PostgreSQL index handling ----------------------------------------------------------------

    def drop_indexes(self):
        """Drop secondary, non-unique indexes of the bulk tables; returns their definitions."""
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT i.indexname, i.indexdef FROM pg_indexes i "
                "JOIN pg_class c ON c.relname = i.indexname JOIN pg_index x ON x.indexrelid = c.oid "
                "WHERE i.tablename = ANY(%s) AND NOT x.indisunique AND NOT x.indisprimary", [TABLES])
            found = cursor.fetchall()
            for name, _definition in found:
                cursor.execute(f'DROP INDEX IF EXISTS "{name}"')
        self.say(f"dropped {len(found)} secondary indexes for the load")
        return found

    def triggers(self, action):
        with connection.cursor() as cursor:
            # ALTER TABLE refuses a table with deferred foreign-key checks pending: run them first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for table in TRIGGERED:
                cursor.execute(f"ALTER TABLE {table} {action} TRIGGER USER")
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")

    def search_entries(self):
        with connection.cursor() as cursor:
            cursor.execute(SEARCH_ENTRIES)
            self.say(f"persons_searchentry: {cursor.rowcount} rows")

    def tallies(self):
        """The dashboards' figures (workspace/tallies.py) counted afresh: the residences were loaded without
        their triggers."""
        with connection.cursor() as cursor:
            self.say(f"workspace_tally: {fill(cursor, connection.vendor)} rows")

    def restore_indexes(self, definitions):
        with connection.cursor() as cursor:
            # Inside an outer transaction (tests) deferred foreign-key checks must run before CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET maintenance_work_mem = '1GB'")
            for _name, definition in definitions:
                cursor.execute(definition)
        self.say(f"rebuilt {len(definitions)} indexes")

    def reset_sequences(self):
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"COALESCE((SELECT MAX(id) FROM {table}), 1))")

    def vacuum(self):
        """Set hint bits and the visibility map (index-only scans) and gather statistics."""
        with connection.cursor() as cursor:
            if connection.in_atomic_block:  # tests: VACUUM cannot run in a transaction
                cursor.execute("ANALYZE")
                return
            for table in TABLES:
                cursor.execute(f"VACUUM (ANALYZE) {table}")
        self.say("vacuumed and analysed")


def _write(table, columns, chunk) -> None:
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            buffer = io.StringIO()
            buffer.writelines("\t".join(_copy_value(v) for v in row) + "\n" for row in chunk)
            buffer.seek(0)
            cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
        else:
            marks = ", ".join(["%s"] * len(columns))
            cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", chunk)  # noqa: S608


def _check_digit(body: str) -> str:
    from stdnum.iso7064 import mod_11_2

    return mod_11_2.calc_check_digit(body)


def _copy_value(value) -> str:
    if value is None:
        return "\\N"
    if isinstance(value, bool):
        return "t" if value else "f"
    text = str(value)
    return text.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n")
