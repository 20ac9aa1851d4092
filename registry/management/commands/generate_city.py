"""A synthetic city for benchmarks: ``manage.py generate_city --persons 1000000``.

Shape follows PRODUCT.md: per million persons 200k properties, 600k units, 1.2M residences; 50
stations and 500 communities; about 43% of residents in rentals and 24% in employer dormitories;
arrivals peaking in March, departures in November; some overcrowded units, late reports and
overdue verifications. Rows are written with PostgreSQL ``COPY`` (``executemany`` on SQLite) in
large chunks with explicit ids; on PostgreSQL the secondary indexes are dropped before the load and
rebuilt after it. Synthetic bulk rows bypass the audit trail and the change feed on purpose.
"""

import datetime
import io
import random
import time
from itertools import accumulate

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone
from faker.providers.person.zh_CN import Provider as ChineseNames
from pypinyin import Style, lazy_pinyin

from persons.identity import current_region_codes
from persons.models import Person
from registry.crypto import encrypt

CHUNK = 50_000
TABLES = ["persons_person", "persons_employer", "persons_employment", "housing_landlord", "housing_property",
          "housing_unit", "housing_residence"]
PROPERTY_TYPES = [("flat", 38), ("self_built", 27), ("group_rental", 8), ("dormitory", 5), ("owner_occupied", 20),
                  ("non_residential", 2)]
# Month weights for arrivals (peak in March) and departures (peak in November).
ARRIVAL_MONTHS = [6, 8, 20, 10, 8, 7, 7, 7, 7, 7, 6, 7]
DEPARTURE_MONTHS = [7, 9, 6, 6, 6, 6, 7, 7, 7, 8, 22, 9]


class Command(BaseCommand):
    help = "Generate a synthetic city of N persons for benchmarks (see docs/performance.md)."

    def add_arguments(self, parser):
        parser.add_argument("--persons", type=int, default=10_000)
        parser.add_argument("--stations", type=int, default=50)
        parser.add_argument("--communities", type=int, default=500)
        parser.add_argument("--seed", type=int, default=2026)

    def handle(self, *args, persons, stations, communities, seed, **options):
        if persons < 100:
            raise CommandError("--persons must be at least 100")
        self.rng = random.Random(seed)
        self.today = timezone.localdate()
        self.started = time.monotonic()
        self.pinyin_cache = {}
        postgres = connection.vendor == "postgresql"
        dropped = self.drop_indexes() if postgres else []
        try:
            with transaction.atomic():
                self.jurisdiction(stations, communities)
                self.people(persons)
                self.employers(max(persons // 200, 5))
                self.landlords_and_properties(persons)
                self.residences(persons)
        finally:
            if postgres:
                self.restore_indexes(dropped)
                self.reset_sequences()
                with connection.cursor() as cursor:
                    cursor.execute("ANALYZE")
        self.say(f"done: {persons} persons")

    # --- helpers -------------------------------------------------------------------------------

    def say(self, message):
        self.stdout.write(f"[{time.monotonic() - self.started:7.1f}s] {message}")

    def next_id(self, table):
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}")  # noqa: S608 (fixed table names)
            return cursor.fetchone()[0] + 1

    def load(self, table, columns, rows):
        """Write rows (an iterable of tuples) in chunks: COPY on PostgreSQL, executemany elsewhere."""
        total = 0
        chunk = []
        for row in rows:
            chunk.append(row)
            if len(chunk) >= CHUNK:
                total += self._write(table, columns, chunk)
                chunk = []
        if chunk:
            total += self._write(table, columns, chunk)
        self.say(f"{table}: {total} rows")
        return total

    def _write(self, table, columns, chunk):
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                buffer = io.StringIO()
                for row in chunk:
                    buffer.write("\t".join(_copy_value(v) for v in row))
                    buffer.write("\n")
                buffer.seek(0)
                cursor.cursor.copy_expert(f"COPY {table} ({', '.join(columns)}) FROM STDIN", buffer)
            else:
                marks = ", ".join(["%s"] * len(columns))
                cursor.executemany(f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", chunk)  # noqa: S608
        return len(chunk)

    def pinyin(self, name):
        cached = self.pinyin_cache.get(name)
        if cached is None:
            syllables = [s for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.isalpha()]
            cached = self.pinyin_cache[name] = ("".join(syllables).lower(), "".join(s[0] for s in syllables).lower())
        return cached

    def name(self):
        surname = self.rng.choices(self.surnames, weights=self.surname_weights)[0]
        given = self.rng.choice(self.given_names)
        if self.rng.random() < 0.45:
            given += self.rng.choice(self.given_names)
        full_pinyin, initials = self.pinyin(surname)
        given_pinyin, given_initials = self.pinyin(given)
        return surname + given, full_pinyin + given_pinyin, initials + given_initials

    def date_in_month_weighted(self, weights, start, end):
        """A date between start and end whose month follows ``weights``."""
        while True:
            day = start + datetime.timedelta(days=self.rng.randrange((end - start).days + 1))
            if self.rng.random() * max(weights) <= weights[day.month - 1]:
                return day

    # --- data ----------------------------------------------------------------------------------

    def jurisdiction(self, stations, communities):
        from registry.models import Community, District, Station

        district, _ = District.objects.get_or_create(code="CITY", defaults={"name": "基准区"})
        self.station_ids = []
        for n in range(stations):
            station, _ = Station.objects.get_or_create(code=f"CITY-S{n:02d}",
                                                       defaults={"district": district, "name": f"第{n + 1}派出所"})
            self.station_ids.append(station.pk)
        self.communities = []  # (community id, station id)
        for n in range(communities):
            station_id = self.station_ids[n % stations]
            community, _ = Community.objects.get_or_create(
                code=f"CITY-C{n:03d}", defaults={"station_id": station_id, "name": f"第{n + 1}社区"})
            self.communities.append((community.pk, station_id))
        self.say(f"{stations} stations, {communities} communities")

    def people(self, count):
        self.surnames = list(ChineseNames.last_names.keys()) if isinstance(ChineseNames.last_names, dict) else list(
            ChineseNames.last_names)
        weights = ChineseNames.last_names.values() if isinstance(ChineseNames.last_names, dict) else None
        self.surname_weights = list(weights) if weights else [1] * len(self.surnames)
        self.given_names = [n[1:] if len(n) > 1 else n for n in ChineseNames.first_names]
        regions = current_region_codes()
        self.first_person = self.next_id("persons_person")
        self.person_station = []
        now = timezone.now()
        seen = set()
        key, part = Person.document_key, Person.part_key

        def rows():
            for n in range(count):
                sex = "M" if self.rng.random() < 0.54 else "F"
                born = datetime.date(1950, 1, 1) + datetime.timedelta(days=self.rng.randrange(0, 365 * 55))
                while True:
                    seq = self.rng.randrange(0, 1000)
                    if (seq % 2 == 1) != (sex == "M"):
                        seq = (seq + 1) % 1000
                    body = f"{self.rng.choice(regions)}{born:%Y%m%d}{seq:03d}"
                    number = body + _check_digit(body)
                    if number not in seen:
                        seen.add(number)
                        break
                name, full, initials = self.name()
                station_id = self.rng.choice(self.station_ids)
                self.person_station.append(station_id)
                phone = f"1{self.rng.choice('3456789')}{self.rng.randrange(10 ** 9):09d}"
                yield (self.first_person + n, "resident_id", "", encrypt(number), key("resident_id", number),
                       part("head", number[:6]), part("tail", number[-4:]), name, full, initials, sex, born, phone,
                       "", "", station_id, None, now, now, 1)

        self.load("persons_person", ["id", "document_type", "document_country", "document_number", "document_hash",
                                     "document_head_hash", "document_tail_hash", "name", "name_pinyin",
                                     "name_initials", "sex", "birth_date",
                                     "phone", "hukou_address", "occupation", "registered_station_id",
                                     "anonymised_at", "created_at", "updated_at", "version"], rows())
        self.person_count = count

    def employers(self, count):
        from stdnum.cn.uscc import calc_check_digit

        self.first_employer = self.next_id("persons_employer")
        now = timezone.now()

        def rows():
            for n in range(count):
                body = f"91110000{self.first_employer + n:09d}"
                yield (self.first_employer + n, f"基准企业{n + 1}有限公司", body + calc_check_digit(body), "",
                       "", "", self.station_ids[n % len(self.station_ids)], None, now, now, 1)

        self.load("persons_employer", ["id", "name", "uscc", "address", "contact_name", "contact_phone",
                                       "station_id", "user_id", "created_at", "updated_at", "version"], rows())
        self.employer_count = count

    def landlords_and_properties(self, persons):
        property_count = max(persons // 5, 20)
        landlord_count = max(property_count * 3 // 5, 10)
        self.first_landlord = self.next_id("housing_landlord")
        now = timezone.now()
        regions = current_region_codes()

        seen = set()

        def landlords():
            for n in range(landlord_count):
                while True:
                    body = (f"{self.rng.choice(regions)}19{self.rng.randrange(50, 85)}0{self.rng.randrange(1, 10)}15"
                            f"{self.rng.randrange(1000):03d}")
                    number = body + _check_digit(body)
                    if number not in seen:
                        seen.add(number)
                        break
                name, full, initials = self.name()
                yield (self.first_landlord + n, "resident_id", "", encrypt(number),
                       Person.document_key("resident_id", number), Person.part_key("head", number[:6]),
                       Person.part_key("tail", number[-4:]), name,
                       full, initials, f"139{self.rng.randrange(10 ** 8):08d}", "",
                       self.rng.choice(self.station_ids), None, now, now, 1)

        self.load("housing_landlord", ["id", "document_type", "document_country", "document_number",
                                       "document_hash", "document_head_hash", "document_tail_hash", "name",
                                       "name_pinyin", "name_initials",
                                       "phone", "address", "station_id", "user_id", "created_at", "updated_at",
                                       "version"], landlords())
        kinds = [k for k, _ in PROPERTY_TYPES]
        cumulative = list(accumulate(w for _, w in PROPERTY_TYPES))
        self.first_property = self.next_id("housing_property")
        self.properties = []  # (id, station id, kind)

        def properties():
            for n in range(property_count):
                pk = self.first_property + n
                community_id, station_id = self.communities[n % len(self.communities)]
                kind = self.rng.choices(kinds, cum_weights=cumulative)[0]
                landlord = None if kind == "dormitory" else self.first_landlord + self.rng.randrange(landlord_count)
                employer = (self.first_employer + self.rng.randrange(self.employer_count)
                            if kind == "dormitory" else None)
                signed = self.today - datetime.timedelta(days=self.rng.randrange(30, 1500)) \
                    if self.rng.random() < 0.8 else None
                self.properties.append((pk, station_id, kind))
                yield (pk, f"{station_id:03d}-{pk:07d}", f"基准路{n // 40 + 1}号{n % 40 + 1}栋", kind, community_id,
                       station_id, landlord, employer, signed, now, now, 1)

        self.load("housing_property", ["id", "registration_number", "address", "property_type", "community_id",
                                       "station_id", "landlord_id", "employer_id", "agreement_signed_on",
                                       "created_at", "updated_at", "version"], properties())
        self.first_unit = self.next_id("housing_unit")
        self.units = []  # (unit id, property index, capacity)
        target_units = persons * 3 // 5

        def units():
            pk = self.first_unit
            index = 0
            while pk - self.first_unit < target_units:
                prop_id, _station, kind = self.properties[index % len(self.properties)]
                for label in range(1, (6 if kind == "dormitory" else 3) + 1):
                    capacity = 8 if kind == "dormitory" else self.rng.choice([1, 2, 2, 3, 4])
                    self.units.append((pk, index % len(self.properties), capacity))
                    yield (pk, prop_id, f"{label:02d}室", capacity, now, 1)
                    pk += 1
                    if pk - self.first_unit >= target_units:
                        break
                index += 1

        self.load("housing_unit", ["id", "property_id", "label", "capacity", "created_at", "version"], units())

    def residences(self, persons):
        now = timezone.now()
        first = self.next_id("housing_residence")
        dorm_units = [u for u in self.units if self.properties[u[1]][2] == "dormitory"]
        rental_units = [u for u in self.units if self.properties[u[1]][2] != "dormitory"]
        occupancy = {}
        two_years_ago = self.today - datetime.timedelta(days=730)
        reasons = ["work", "work", "work", "business", "study", "family", "medical", "other"]
        sources = ["desk", "landlord", "landlord", "visit", "employer", "import", "api"]

        def pick(units):
            for _ in range(4):  # mostly within capacity; a few end up overcrowded
                unit = self.rng.choice(units)
                if occupancy.get(unit[0], 0) < unit[2] or self.rng.random() < 0.03:
                    return unit
            return unit

        def rows():
            pk = first
            for n in range(persons):
                person_id = self.first_person + n
                # About a fifth also have an ended, earlier residence (departures peak in November).
                if self.rng.random() < 0.2:
                    unit = self.rng.choice(rental_units)
                    end = self.date_in_month_weighted(DEPARTURE_MONTHS, two_years_ago, self.today)
                    start = end - datetime.timedelta(days=self.rng.randrange(60, 700))
                    late = self.rng.random() < 0.12
                    yield (pk, person_id, unit[0], self.properties[unit[1]][1], start, end, "work", "landlord",
                           "ended", None, start + datetime.timedelta(days=self.rng.randrange(0, 3)),
                           end + datetime.timedelta(days=self.rng.randrange(4, 20) if late else self.rng.randrange(3)),
                           "", None, now, now, 1)
                    pk += 1
                unit = pick(dorm_units if dorm_units and self.rng.random() < 0.24 else rental_units)
                occupancy[unit[0]] = occupancy.get(unit[0], 0) + 1
                start = self.date_in_month_weighted(ARRIVAL_MONTHS, two_years_ago, self.today)
                late = self.rng.random() < 0.12
                reported = start + datetime.timedelta(days=self.rng.randrange(4, 25) if late else self.rng.randrange(3))
                reported = min(reported, self.today)
                due = self.today + datetime.timedelta(days=self.rng.randrange(-60, 120))
                status = "unconfirmed" if self.rng.random() < 0.02 else "active"
                yield (pk, person_id, unit[0], self.properties[unit[1]][1], start, None, self.rng.choice(reasons),
                       self.rng.choice(sources), status, due, reported, None, "", None, now, now, 1)
                pk += 1

        self.load("housing_residence", ["id", "person_id", "unit_id", "station_id", "start_date", "end_date",
                                        "reason", "source", "status", "next_verification_due", "reported_on",
                                        "end_reported_on", "note", "created_by_id", "created_at", "updated_at",
                                        "version"], rows())

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

    def restore_indexes(self, definitions):
        with connection.cursor() as cursor:
            # Inside an outer transaction (tests) deferred foreign-key checks must run before CREATE INDEX.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("SET maintenance_work_mem = '512MB'")
            for _name, definition in definitions:
                cursor.execute(definition)
        self.say(f"rebuilt {len(definitions)} indexes")

    def reset_sequences(self):
        with connection.cursor() as cursor:
            for table in TABLES:
                cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "  # noqa: S608
                               f"COALESCE((SELECT MAX(id) FROM {table}), 1))")


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
