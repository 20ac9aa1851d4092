"""The benchmark's users and inputs, made with the project's own models and services.

Users: one station's staff (``bench_staff``, with a personal API token), staff of four more stations (for
distinct station dashboards), the district's supervisor, a desk user who may open the stock admin (the
baseline), and filler staff so that every station has ``--staff-per-station`` staff as PRODUCT.md says
(they get notifications in the sweep; they have no password and no email address).

Inputs: persons drawn at random (seeded) from the data the user may see, never one repeated value.
"""

import datetime
import random
from dataclasses import dataclass, field

from django.contrib.auth import get_user_model
from django.db import connection, transaction

from housing.models import CURRENT_RESIDENCE_STATUSES, Residence, Unit
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import make_user
from registry.models import ApiToken, District, Profile, Station
from registry.roles import RoleChoices
from registry.services import api_token_create

PASSWORD = "bench-pass-2026"  # noqa: S105 (synthetic benchmark users on a synthetic city)
LOGIN_STATIONS = 5


@dataclass
class Users:
    station: Station
    stations: list
    district: District
    staff: object
    station_staff: list  # (username, station) of the login staff, the first one is ``staff``
    supervisor: object
    desk_admin: object
    token: str


@dataclass
class Sample:
    """A person the bench user may see, with the clear document number (decrypted once, here)."""

    id: int
    number: str
    name: str
    initials: str
    phone: str


@dataclass
class Inputs:
    persons: list
    long_names: list  # persons whose names have at least four characters (infix search)
    units: list  # (unit id, property id, community id) in the bench station
    other_units: list  # units of the other login stations' (for registrations spread out)
    due_dates: list = field(default_factory=list)


def ensure_users(*, staff_per_station: int = 20) -> Users:
    stations = list(Station.objects.filter(code__startswith="CITY-S").order_by("code"))
    if not stations:
        raise SystemExit("no generated city here: run manage.py generate_city first (or bin/bench --generate N)")
    station = stations[0]
    district = station.district
    login_staff = []
    for index, login_station in enumerate(stations[:LOGIN_STATIONS]):
        username = "bench_staff" if index == 0 else f"bench_staff_{index}"
        user = _login_user(username, RoleChoices.STAFF, station=login_station)
        login_staff.append((username, login_station))
        if index == 0:
            staff = user
    supervisor = _login_user("bench_supervisor", RoleChoices.SUPERVISOR, district=district)
    desk_admin = _login_user("bench_desk_admin", RoleChoices.STAFF, station=station)
    if not desk_admin.is_staff:  # may open the stock admin (the baseline), with the staff role's view rights
        desk_admin.is_staff = True
        desk_admin.save(update_fields=["is_staff"])
    _filler_staff(stations, staff_per_station)
    token = _token(staff)
    return Users(station=station, stations=stations, district=district, staff=staff, station_staff=login_staff,
                 supervisor=supervisor, desk_admin=desk_admin, token=token)


def _login_user(username, role, *, station=None, district=None):
    user = get_user_model().objects.filter(username=username).first()
    if user is None or not user.check_password(PASSWORD):
        return make_user(role, username=username, station=station, district=district, password=PASSWORD)
    return user


@transaction.atomic
def _filler_staff(stations, per_station: int) -> None:
    """Top every station up to ``per_station`` staff profiles (bulk: no password hashing)."""
    from django.contrib.auth.models import Group

    user_model = get_user_model()
    group, _ = Group.objects.get_or_create(name=RoleChoices.STAFF)
    counts = {}
    for station_id in Profile.objects.filter(role__in=[RoleChoices.STAFF, RoleChoices.OFFICER]).values_list(
            "station_id", flat=True):
        counts[station_id] = counts.get(station_id, 0) + 1
    new_users = []
    for station in stations:
        for n in range(counts.get(station.pk, 0), per_station):
            user = user_model(username=f"bench_{station.code.lower()}_{n:02d}")
            user.set_unusable_password()
            new_users.append((user, station))
    if not new_users:
        return
    user_model.objects.bulk_create([u for u, _ in new_users])
    saved = {u.username: u for u in user_model.objects.filter(username__in=[u.username for u, _ in new_users])}
    Profile.objects.bulk_create([Profile(user=saved[u.username], role=RoleChoices.STAFF, station=s)
                                 for u, s in new_users])
    group.user_set.add(*saved.values())


def _token(user) -> str:
    """A fresh personal token (the raw key is only known at creation); older bench tokens are revoked."""
    ApiToken.objects.filter(user=user, name="bench", revoked_at__isnull=True).update(
        revoked_at=datetime.datetime.now(datetime.UTC))
    _token_row, raw = api_token_create(user=user, name="bench")
    return raw


def draw_inputs(users: Users, *, count: int, seed: int = 7) -> Inputs:
    """Random persons currently living in the bench station, their numbers decrypted; units to register in."""
    rng = random.Random(seed)
    station = users.station
    with connection.cursor() as cursor:
        cursor.execute("SELECT person_id FROM housing_residence WHERE station_id = %s AND status IN "
                       "('active', 'unconfirmed')", [station.pk])
        ids = [row[0] for row in cursor.fetchall()]
    chosen = rng.sample(ids, min(count, len(ids)))
    persons = _samples(chosen)
    with connection.cursor() as cursor:
        cursor.execute("SELECT p.id FROM persons_person p JOIN housing_residence r ON r.person_id = p.id "
                       "WHERE r.station_id = %s AND r.status IN ('active', 'unconfirmed') "
                       "AND char_length(p.name) >= 4", [station.pk])
        long_ids = [row[0] for row in cursor.fetchall()]
    long_names = _samples(rng.sample(long_ids, min(count, len(long_ids))))
    units = list(Unit.objects.filter(property__station=station).values_list("pk", "property_id",
                                                                              "property__community_id"))
    rng.shuffle(units)
    other = list(Unit.objects.filter(property__station__in=[s for _, s in users.station_staff[1:]]).values_list(
        "pk", "property_id", "property__community_id")[:5000])
    return Inputs(persons=persons, long_names=long_names, units=units[:5000], other_units=other)


def _samples(ids) -> list:
    by_id = {p.pk: p for p in Person.objects.filter(pk__in=ids).only(
        "id", "document_type", "document_number", "name", "name_initials", "phone")}
    return [Sample(id=pk, number=by_id[pk].document_number, name=by_id[pk].name,
                   initials=by_id[pk].name_initials, phone=by_id[pk].phone) for pk in ids if pk in by_id]


def new_identities(count: int, *, seed: int) -> list[dict]:
    """Valid resident ID numbers nobody has yet, with a matching birth date and sex, and a name (a few
    fewer than ``count`` when some are already registered)."""
    rng = random.Random(seed)
    surnames = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
    given = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英"
    out, seen = [], set()
    while len(out) < count:
        born = datetime.date(1960, 1, 1) + datetime.timedelta(days=rng.randrange(0, 365 * 45))
        sex = rng.choice("MF")
        number = make_resident_id(birth_date=born, sex=sex, rng=rng)
        if number in seen:
            continue
        seen.add(number)
        name = rng.choice(surnames) + "".join(rng.choice(given) for _ in range(rng.choice([1, 2])))
        out.append({"document_number": number, "birth_date": born, "sex": sex, "name": name,
                    "phone": f"1{rng.choice('3589')}{rng.randrange(10 ** 9):09d}"})
    # A city of a million already holds a few of 100,000 random valid numbers: leave those out.
    keys = {Person.document_key("resident_id", p["document_number"]): p for p in out}
    known = set()
    hashes = list(keys)
    for first in range(0, len(hashes), 5000):
        known |= set(Person.objects.filter(document_type="resident_id", document_hash__in=hashes[first:first + 5000])
                     .values_list("document_hash", flat=True))
    return [p for key, p in keys.items() if key not in known]


def current_residents_of(station) -> int:
    return Residence.objects.filter(station=station, status__in=CURRENT_RESIDENCE_STATUSES).count()


def ensure_operator(station) -> int:
    """The lodging the bench checks guests in at (in ``station``) and its operator ``bench_operator``, a landlord
    account linked to the lodging's landlord. Returns the lodging's id."""
    from housing.models import LODGING_TYPES, Landlord, Property

    user = _login_user("bench_operator", RoleChoices.LANDLORD)
    mine = Property.objects.filter(property_type__in=LODGING_TYPES, landlord__user=user).order_by("pk").first()
    if mine is not None:
        return mine.pk
    lodging = (Property.objects.filter(property_type__in=LODGING_TYPES, station=station, landlord__user__isnull=True)
               .order_by("pk").first())
    if lodging is None:
        raise SystemExit("no lodging in the generated city: regenerate it (generate_city makes lodgings and stays)")
    Landlord.objects.filter(pk=lodging.landlord_id).update(user=user)
    return lodging.pk
