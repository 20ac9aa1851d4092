import pytest
from django.db import connection

from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices


@pytest.fixture(autouse=True)
def _fast_and_eager(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    settings.CELERY_TASK_ALWAYS_EAGER = True
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}}


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
