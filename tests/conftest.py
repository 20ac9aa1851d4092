import datetime
import zoneinfo

import pytest
import time_machine
from django.conf import settings
from django.db import connection

from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices


def _ten_this_morning() -> datetime.datetime:
    zone = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    return datetime.datetime.combine(datetime.datetime.now(zone).date(), datetime.time(10), tzinfo=zone)


# The suite runs on today's date (local, TIME_ZONE) with the clock set to 10:00 and ticking. Test modules
# compute TODAY once, when they are collected, and compare it with dates the code computes minutes later:
# on the real clock, a run that crosses local midnight (16:00 UTC) would fail on dates a day apart.
# Tests about a particular moment travel there themselves (time_machine.travel), on top of this.
SUITE_CLOCK = time_machine.travel(_ten_this_morning(), tick=True)


def pytest_configure(config):
    SUITE_CLOCK.start()


def pytest_unconfigure(config):
    SUITE_CLOCK.stop()


@pytest.fixture(autouse=True, scope="session")
def _own_file_cache(tmp_path_factory):
    """With the file cache (the default without REDIS_URL), each test run gets its own, empty folder: the
    developer's var/cache/ may be nearly full (it then culls a third at random) or shared with another
    run, either of which would make the tests that count cache hits flaky."""
    from django.conf import settings
    from django.test.utils import override_settings

    cache = settings.CACHES["default"]
    if not cache["BACKEND"].endswith("FileBasedCache"):
        yield
        return
    with override_settings(CACHES={"default": {**cache, "LOCATION": str(tmp_path_factory.mktemp("cache"))}}):
        yield


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache: sign-in failures are counted there per address (127.0.0.1 for
    every test client), and the tests that fail sign-ins on purpose must not lock out the tests after them."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}
    # Tests share one cache across many databases whose ids repeat: dashboards count afresh unless a
    # test turns their cache on (tests/registry/test_dashboard.py does, with its own cache).
    settings.REGISTRY = {**settings.REGISTRY, "DASHBOARD_CACHE_SECONDS": 0}


@pytest.fixture(autouse=True)
def _signed_in_with_second_factor(request, monkeypatch):
    """A test client that signs in (``login``, ``force_login``) gets a session verified with a second factor,
    as every station-side user has after signing in: the tests of other features need not type codes. Tests
    of signing in itself are marked ``real_sign_in`` and go through the real steps."""
    if request.node.get_closest_marker("real_sign_in"):
        return
    from django.test import Client
    from django_otp import DEVICE_ID_SESSION_KEY

    from registry.models import RecoveryCodes

    original = Client._login

    def _login(self, user, backend=None):
        original(self, user, backend)
        device, _created = RecoveryCodes.objects.get_or_create(user=user, name="test sign-in")
        session = self.session
        session[DEVICE_ID_SESSION_KEY] = device.persistent_id
        session.save()

    monkeypatch.setattr(Client, "_login", _login)


def pytest_collection_modifyitems(config, items):
    if connection.vendor != "postgresql":
        skip = pytest.mark.skip(reason="needs PostgreSQL; runs in the PostgreSQL pass of .ci/run")
        for item in items:
            if "postgres" in item.keywords:
                item.add_marker(skip)


@pytest.fixture
def district(db):
    return DistrictFactory(code="D01", name="东城区")


@pytest.fixture
def station_a(district):
    return StationFactory(district=district, code="SA", name="甲派出所")


@pytest.fixture
def station_b(district):
    return StationFactory(district=district, code="SB", name="乙派出所")


@pytest.fixture
def community_a(station_a):
    return CommunityFactory(station=station_a, code="CA1", name="甲一社区")


@pytest.fixture
def community_b(station_b):
    return CommunityFactory(station=station_b, code="CB1", name="乙一社区")


@pytest.fixture
def staff_a(station_a):
    return make_user(RoleChoices.STAFF, username="staff_a", station=station_a)


@pytest.fixture
def staff_b(station_b):
    return make_user(RoleChoices.STAFF, username="staff_b", station=station_b)


@pytest.fixture
def officer_a(station_a):
    return make_user(RoleChoices.OFFICER, username="officer_a", station=station_a)


@pytest.fixture
def supervisor(district):
    return make_user(RoleChoices.SUPERVISOR, username="supervisor", district=district)


@pytest.fixture
def admin_user(db):
    return make_user(RoleChoices.ADMIN, username="admin")


@pytest.fixture
def landlord_a(station_a):
    """A landlord of station A with a portal account (username ``landlord_a``)."""
    from housing.factories import LandlordFactory

    user = make_user(RoleChoices.LANDLORD, username="landlord_a")
    user.email = "landlord_a@example.org"
    user.save(update_fields=["email"])
    return LandlordFactory(station=station_a, user=user, name="房东甲")


@pytest.fixture
def landlord_b(station_b):
    """Another landlord, of station B, with a portal account (username ``landlord_b``)."""
    from housing.factories import LandlordFactory

    user = make_user(RoleChoices.LANDLORD, username="landlord_b")
    return LandlordFactory(station=station_b, user=user, name="房东乙")


@pytest.fixture
def rental_a(landlord_a, community_a):
    """A flat of landlord A in community A with two units (capacity 2 and 4)."""
    from housing.factories import PropertyFactory, UnitFactory

    prop = PropertyFactory(community=community_a, landlord=landlord_a, address="甲一路1号")
    UnitFactory(property=prop, label="101室", capacity=2)
    UnitFactory(property=prop, label="102室", capacity=4)
    return prop


@pytest.fixture
def rental_b(landlord_b, community_b):
    from housing.factories import PropertyFactory, UnitFactory

    prop = PropertyFactory(community=community_b, landlord=landlord_b, address="乙一路9号")
    UnitFactory(property=prop, label="201室", capacity=3)
    return prop


@pytest.fixture
def employer_a(station_a):
    """An employer of station A with a portal account (username ``employer_a``)."""
    from persons.factories import EmployerFactory

    user = make_user(RoleChoices.EMPLOYER, username="employer_a")
    return EmployerFactory(station=station_a, user=user)


@pytest.fixture
def dormitory_a(employer_a, community_a):
    from housing.factories import PropertyFactory, UnitFactory
    from housing.models import PropertyTypeChoices

    prop = PropertyFactory(community=community_a, landlord=None, employer=employer_a,
                           property_type=PropertyTypeChoices.DORMITORY, address="甲工业园宿舍")
    UnitFactory(property=prop, label="A101", capacity=8)
    return prop
