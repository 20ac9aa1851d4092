"""Demo data: one district, two stations, their communities, properties and ~200 residents.

Idempotent: a second run leaves the data as it is and only resets the demo logins' passwords.
Everything is synthetic (Faker zh_CN, valid but invented ID numbers).
"""

import datetime
import random

from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from faker import Faker

from housing.models import (
    Landlord,
    Property,
    PropertyTypeChoices,
    Residence,
    ResidenceEndedViaChoices,
    ResidenceReasonChoices,
    ResidenceSourceChoices,
    Unit,
)
from housing.services import residence_end
from patrol.models import Inspection
from patrol.rating import property_rate_all
from patrol.services import verification_sweep
from persons.choices import SexChoices
from persons.identity import make_resident_id
from persons.models import Employer, Employment, Person
from portal.services import submission_report_arrival
from registry.audit import audit_context
from registry.factories import make_user
from registry.models import Community, District, Station
from registry.notifications import reminders_send
from registry.roles import RoleChoices

DEMO_PASSWORD = "demo-pass-2026"
DEMO_USERS = [
    # username, role, station code, what they see
    ("admin", RoleChoices.ADMIN, None, "everything, and the Django admin"),
    ("staff_a", RoleChoices.STAFF, "DEMO-S1", "residents of 东湖派出所"),
    ("officer_a", RoleChoices.OFFICER, "DEMO-S1", "residents of 东湖派出所, inspections, permits"),
    ("staff_b", RoleChoices.STAFF, "DEMO-S2", "residents of 西山派出所"),
    ("supervisor", RoleChoices.SUPERVISOR, None, "both stations of the district"),
    ("landlord", RoleChoices.LANDLORD, None, "their own properties and tenants"),
    ("employer", RoleChoices.EMPLOYER, None, "their dormitory and employees"),
]
STATIONS = [
    ("DEMO-S1", "东湖派出所", [("DEMO-C11", "东湖社区"), ("DEMO-C12", "桃园社区"), ("DEMO-C13", "新村社区")]),
    ("DEMO-S2", "西山派出所", [("DEMO-C21", "西山社区"), ("DEMO-C22", "枫林社区")]),
]
RESIDENTS = 200


class Command(BaseCommand):
    help = "Load demo data and demo logins (idempotent)."

    def handle(self, *args, **options):
        with audit_context(via="seed_demo"):
            created = self.seed_data()
            self.seed_users()
            if created:
                self.seed_reports()
                self.seed_lodging()
                self.run_nightly()
        self.stdout.write(self.style.SUCCESS("Demo data created." if created else "Demo data already present."))
        self.print_logins()

    @transaction.atomic
    def seed_data(self) -> bool:
        district, created = District.objects.get_or_create(code="DEMO", defaults={"name": "示范区"})
        if not created:
            return False
        fake = Faker("zh_CN")
        Faker.seed(2026)
        rng = random.Random(2026)
        today = datetime.date.today()
        units_by_station = {}
        for code, name, communities in STATIONS:
            station = Station.objects.create(district=district, code=code, name=name)
            units = units_by_station[station] = []
            community_objs = [Community.objects.create(station=station, code=c, name=n) for c, n in communities]
            for i in range(4):
                landlord = Landlord(
                    name=fake.name(), phone=f"138{rng.randrange(10**8):08d}", station=station,
                    document_number=make_resident_id(birth_date=datetime.date(1965 + i, 3, 9), sex="M", rng=rng),
                )
                landlord.full_clean()
                landlord.save()
                for j in range(3):
                    prop = Property(
                        address=f"{community_objs[(i + j) % len(community_objs)].name}{fake.street_name()}"
                                f"{rng.randrange(1, 200)}号",
                        property_type=rng.choice([PropertyTypeChoices.RESIDENTIAL_FLAT,
                                                  PropertyTypeChoices.SELF_BUILT, PropertyTypeChoices.GROUP_RENTAL]),
                        community=community_objs[(i + j) % len(community_objs)],
                        landlord=landlord,
                        agreement_signed_on=today - datetime.timedelta(days=rng.randrange(30, 900)),
                    )
                    prop.full_clean()
                    prop.save()
                    for floor in range(1, 4):
                        units.append(Unit.objects.create(property=prop, label=f"{floor}0{j + 1}室",
                                                         capacity=rng.choice([2, 3, 4, 6])))
            employer = Employer(name=fake.company(), uscc=_uscc(rng), station=station,
                                contact_name=fake.name(), contact_phone=f"139{rng.randrange(10**8):08d}",
                                address=fake.street_address())
            employer.full_clean()
            employer.save()
            dorm = Property.objects.create(address=f"{community_objs[0].name}工业园宿舍{rng.randrange(1, 9)}栋",
                                           property_type=PropertyTypeChoices.DORMITORY,
                                           community=community_objs[0], employer=employer)
            for room in range(1, 6):
                units.append(Unit.objects.create(property=dorm, label=f"宿舍{room}", capacity=8))

        stations = list(units_by_station)
        occupancy = {}
        for n in range(RESIDENTS):
            station = stations[n % len(stations)]
            # Mostly within capacity; about one in twenty placed regardless (overcrowding exists).
            units = units_by_station[station]
            roomy = [u for u in units if occupancy.get(u.pk, 0) < u.capacity]
            unit = rng.choice(roomy if roomy and rng.random() > 0.05 else units)
            occupancy[unit.pk] = occupancy.get(unit.pk, 0) + 1
            sex = rng.choice([SexChoices.MALE, SexChoices.FEMALE])
            born = datetime.date(1965, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 40))
            person = Person(
                name=fake.name_male() if sex == SexChoices.MALE else fake.name_female(),
                sex=sex, birth_date=born,
                document_number=make_resident_id(birth_date=born, sex=sex, rng=rng),
                phone=f"1{rng.choice('3578')}{rng.randrange(10**9):09d}",
                hukou_address=fake.province() + fake.city_name(),
                occupation=rng.choice(["厨师", "快递员", "工人", "店员", "保洁员", "程序员", "司机", "个体经营"]),
                registered_station=station,
            )
            person.full_clean()
            person.save()
            start = today - datetime.timedelta(days=rng.randrange(5, 900))
            Residence.objects.create(
                person=person, unit=unit, start_date=start,
                reported_on=start + datetime.timedelta(days=rng.choice([0, 0, 1, 1, 2, 3, 5, 9])),
                reason=rng.choice(ResidenceReasonChoices.values), source=rng.choice(
                    [ResidenceSourceChoices.DESK, ResidenceSourceChoices.LANDLORD, ResidenceSourceChoices.VISIT]),
                status="active",
                next_verification_due=today + datetime.timedelta(days=rng.randrange(-30, 90)),
            )
            if unit.property.employer_id:
                Employment.objects.create(person=person, employer=unit.property.employer, job_title="操作工",
                                          start_date=start)
        self.seed_departures(rng, today)
        self.seed_inspections(rng, today)
        return True

    def seed_departures(self, rng, today):
        """About one resident in eight moved out during the last year, for each of the reasons the desk asks
        (most left the district), a few reported by their landlord: the dashboards' departures have figures."""
        reasons = ["left_district"] * 5 + ["moved_within"] * 3 + ["other", "deceased"]
        for residence in rng.sample(list(Residence.objects.order_by("id")), RESIDENTS // 8):
            earliest = max(residence.start_date, today - datetime.timedelta(days=330)) + datetime.timedelta(days=1)
            if earliest >= today:
                continue
            end = earliest + datetime.timedelta(days=rng.randrange((today - earliest).days))
            by_owner = rng.random() < 0.3
            reported = min(end + datetime.timedelta(days=rng.randrange(3)), today)
            residence_end(residence=residence, end_date=end, reported_on=reported,
                          end_reason="" if by_owner else rng.choice(reasons),
                          ended_via=ResidenceEndedViaChoices.OWNER if by_owner else "")

    def seed_inspections(self, rng, today):
        for prop in Property.objects.order_by("id"):
            if rng.random() < 0.6:
                items = {item: rng.random() > 0.15 for item in Inspection.CHECKLIST}
                inspection = Inspection(property=prop, inspected_on=today - datetime.timedelta(
                    days=rng.randrange(10, 500)), **items)
                inspection.save()

    def seed_users(self):
        district = District.objects.get(code="DEMO")
        for username, role, station_code, _what in DEMO_USERS:
            station = Station.objects.get(code=station_code) if station_code else None
            user = make_user(role, username=username, station=station,
                             district=district if role == RoleChoices.SUPERVISOR else None,
                             password=DEMO_PASSWORD)
            if role == RoleChoices.LANDLORD:
                landlord = Landlord.objects.filter(station__code="DEMO-S1").order_by("id").first()
                Landlord.objects.filter(user=user).exclude(pk=landlord.pk).update(user=None)
                if landlord.user_id != user.pk:
                    landlord.user = user
                    landlord.save(update_fields=["user"])
            if role == RoleChoices.EMPLOYER:
                employer = Employer.objects.filter(station__code="DEMO-S1").order_by("id").first()
                if employer.user_id != user.pk:
                    employer.user = user
                    employer.save(update_fields=["user"])

    def seed_reports(self):
        """Two arrivals from the demo landlord waiting in 东湖派出所's review queue (one reported late)."""
        from django.contrib.auth import get_user_model

        user = get_user_model().objects.get(username="landlord")
        prop = Property.objects.filter(landlord__user=user).order_by("id").first()
        unit = prop.units.order_by("label").first()
        rng = random.Random(7)
        today = datetime.date.today()
        arrivals = (("林晓燕", datetime.date(1996, 4, 2), 1), ("马建军", datetime.date(1989, 9, 17), 6))
        for name, born, days_ago in arrivals:
            submission_report_arrival(
                prop=prop, unit=unit, actor=user, document_type="resident_id", name=name,
                document_number=make_resident_id(birth_date=born, sex="F" if name == "林晓燕" else "M", rng=rng),
                phone=f"139{rng.randrange(10**8):08d}", date=today - datetime.timedelta(days=days_ago),
                reason="work")

    def seed_lodging(self):
        """A guesthouse of the demo landlord with guests: some in now (one recorded late, one staying long enough to
        be registered, one a registered resident), two who left."""
        from django.contrib.auth import get_user_model

        from lodging.models import Stay
        from lodging.services import late_after, stay_check_in, stay_check_out

        user = get_user_model().objects.get(username="landlord")
        landlord = Landlord.objects.get(user=user)
        community = Property.objects.filter(landlord=landlord).order_by("id").first().community
        lodging = Property(address=f"{community.name}迎宾路8号 悦来招待所", community=community, landlord=landlord,
                           property_type=PropertyTypeChoices.GUESTHOUSE)
        lodging.full_clean()
        lodging.save()
        for room in ("101", "102", "103", "201", "202", "203"):
            Unit.objects.create(property=lodging, label=room, capacity=2)
        rng = random.Random(11)
        now = timezone.now()
        resident = Person.objects.filter(registered_station=lodging.station).order_by("id").first()
        guests = [  # name, room, nights, arrived hours ago, recorded hours after arrival, left
            ("周海涛", "101", 2, 20, 0.1, False), ("吴静怡", "102", 1, 30, 0.2, True),
            ("郑国强", "103", 3, 5, 3.0, False), ("孙丽娟", "201", 60, 24 * 40, 0.3, False),
            ("何志明", "202", 1, 50, 0.1, True),
        ]
        for name, room, nights, hours, delay, left in guests:
            arrived = now - datetime.timedelta(hours=hours)
            born = datetime.date(1970, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 35))
            stay = stay_check_in(lodging=lodging, actor=user, document_type="resident_id", name=name, room=room,
                                 document_number=make_resident_id(birth_date=born, sex="M", rng=rng),
                                 nights=nights, arrived_at=arrived)
            # Checked in back then, not now: the history the operator would have written (late if over the hour).
            recorded = arrived + datetime.timedelta(hours=delay)
            Stay.objects.filter(pk=stay.pk).update(checked_in_at=recorded, is_late=recorded - arrived > late_after())
            stay.refresh_from_db()
            if left:
                stay_check_out(stay=stay, at=arrived + datetime.timedelta(days=nights))
        if resident is not None:  # a registered resident's night away from home shows on their page
            stay_check_in(lodging=lodging, actor=user, document_type=resident.document_type,
                          document_number=resident.document_number, name=resident.name, room="203", nights=1,
                          arrived_at=now - datetime.timedelta(minutes=20))

    def run_nightly(self):
        """What the nightly jobs would have done by now, so that a new user sees a district that has lived: ratings
        two months, one month and a day ago and today (a history), the re-verification sweep (open requests) and
        the daily reminders (notifications)."""
        today = timezone.localdate()
        for days in (60, 30, 1, 0):
            property_rate_all(today=today - datetime.timedelta(days=days))
        verification_sweep(today=today)
        reminders_send(today=today)

    def print_logins(self):
        self.stdout.write("\nDemo logins (password for all: %s):" % DEMO_PASSWORD)
        for username, role, _station, what in DEMO_USERS:
            self.stdout.write(f"  {username:<11} {RoleChoices(role).label!s:<20} sees {what}")


def _uscc(rng: random.Random) -> str:
    from stdnum.cn.uscc import calc_check_digit

    body = f"91110105{rng.randrange(10**9):09d}"
    return body + calc_check_digit(body)
