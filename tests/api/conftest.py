"""Shared data for the API tests: two stations of one district, with every kind of record in each.

Station A holds a landlord with a portal account (one property, one unit, one current tenant), an
employer with a portal account (a dormitory with a resident worker and an employment), and a property
of another landlord; station B holds the same shape again. Every role the API knows gets a user.
"""

import datetime
from types import SimpleNamespace

import pytest
from rest_framework.test import APIClient

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import PropertyTypeChoices
from persons.factories import EmployerFactory, EmploymentFactory, PersonFactory
from registry.changes import changes_sequence
from registry.factories import make_user
from registry.roles import RoleChoices
from registry.services import api_token_create

TODAY = datetime.date.today()


def _station_world(station, community, *, prefix):
    """One landlord (property, unit, current tenant, former tenant), one employer (dormitory, worker with an
    employment, former dormitory resident), and a person registered at the station who lives nowhere."""
    landlord = LandlordFactory(station=station)
    prop = PropertyFactory(community=community, landlord=landlord)
    unit = UnitFactory(property=prop, label=f"{prefix}-101")
    residence = ResidenceFactory(unit=unit, start_date=TODAY - datetime.timedelta(days=40))
    employer = EmployerFactory(station=station)
    dorm = PropertyFactory(community=community, landlord=None, employer=employer,
                           property_type=PropertyTypeChoices.DORMITORY)
    dorm_unit = UnitFactory(property=dorm, label=f"{prefix}-D1")
    dorm_residence = ResidenceFactory(unit=dorm_unit, start_date=TODAY - datetime.timedelta(days=30))
    employment = EmploymentFactory(person=dorm_residence.person, employer=employer)
    # A former tenant of the landlord's unit: history that portal users must no longer see.
    ended = ResidenceFactory(unit=unit, start_date=TODAY - datetime.timedelta(days=400),
                             end_date=TODAY - datetime.timedelta(days=100), status="ended",
                             next_verification_due=None)
    ended_dorm = ResidenceFactory(unit=dorm_unit, start_date=TODAY - datetime.timedelta(days=300),
                                  end_date=TODAY - datetime.timedelta(days=60), status="ended",
                                  next_verification_due=None)
    # A person registered at the station who lives nowhere yet.
    loose = PersonFactory(registered_station=station)
    return SimpleNamespace(landlord=landlord, property=prop, unit=unit, residence=residence,
                           person=residence.person, employer=employer, dorm=dorm, dorm_unit=dorm_unit,
                           dorm_residence=dorm_residence, worker=dorm_residence.person, employment=employment,
                           ended=ended, former_tenant=ended.person, ended_dorm=ended_dorm,
                           former_worker=ended_dorm.person, loose_person=loose)


@pytest.fixture
def world(station_a, station_b, community_a, community_b, staff_a, staff_b, officer_a, supervisor, admin_user):
    a = _station_world(station_a, community_a, prefix="A")
    b = _station_world(station_b, community_b, prefix="B")
    landlord_user = make_user(RoleChoices.LANDLORD, username="landlord_a")
    a.landlord.user = landlord_user
    a.landlord.save(update_fields=["user"])
    employer_user = make_user(RoleChoices.EMPLOYER, username="employer_a")
    a.employer.user = employer_user
    a.employer.save(update_fields=["user"])
    changes_sequence()
    users = {
        "anonymous": None, "staff_a": staff_a, "officer_a": officer_a, "staff_b": staff_b,
        "supervisor": supervisor, "landlord": landlord_user, "employer": employer_user, "admin": admin_user,
    }
    return SimpleNamespace(a=a, b=b, users=users, station_a=station_a, station_b=station_b,
                           community_a=community_a, community_b=community_b)


def token_client(user, name="tests") -> APIClient:
    """An API client that authenticates the way other systems do: ``Authorization: Token <key>``."""
    client = APIClient()
    if user is not None:
        _token, raw = api_token_create(user=user, name=name)
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client
