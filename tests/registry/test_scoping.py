"""A user of one station never sees another station's records: 404, as if they did not exist."""

import pytest
from django.http import Http404

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Landlord, Property, Residence, Unit
from persons.factories import EmployerFactory, EmploymentFactory
from persons.models import Employer, Employment, Person
from registry.factories import make_user
from registry.roles import RoleChoices
from registry.scoping import get_object_for_user


@pytest.fixture
def residence_a(community_a):
    return ResidenceFactory(unit__property__community=community_a)


@pytest.fixture
def residence_b(community_b):
    return ResidenceFactory(unit__property__community=community_b)


MODELS = [
    (Person, lambda r: r.person),
    (Residence, lambda r: r),
    (Unit, lambda r: r.unit),
    (Property, lambda r: r.unit.property),
    (Landlord, lambda r: r.unit.property.landlord),
]


@pytest.mark.parametrize(("model", "pick"), MODELS, ids=[m.__name__ for m, _ in MODELS])
def test_station_user_gets_404_for_other_stations_record(model, pick, staff_a, residence_a, residence_b):
    assert get_object_for_user(model, staff_a, pk=pick(residence_a).pk) == pick(residence_a)
    with pytest.raises(Http404):
        get_object_for_user(model, staff_a, pk=pick(residence_b).pk)


@pytest.mark.parametrize(("model", "pick"), MODELS, ids=[m.__name__ for m, _ in MODELS])
def test_station_list_holds_only_own_station(model, pick, staff_a, staff_b, residence_a, residence_b):
    assert list(model.objects.visible_to(staff_a)) == [pick(residence_a)]
    assert list(model.objects.visible_to(staff_b)) == [pick(residence_b)]


def test_supervisor_sees_every_station_of_their_district(supervisor, residence_a, residence_b, district):
    other = ResidenceFactory()  # a station in another district
    assert other.station.district_id != district.pk
    visible = set(Person.objects.visible_to(supervisor))
    assert visible == {residence_a.person, residence_b.person}


def test_person_who_moved_away_stays_visible_to_the_old_station(staff_a, staff_b, residence_a, community_b):
    """History: the station that registered someone still sees them after they moved on."""
    person = residence_a.person
    residence_a.status, residence_a.end_date = "ended", residence_a.start_date
    residence_a.save()
    ResidenceFactory(person=person, unit__property__community=community_b)
    assert Person.objects.visible_to(staff_a).filter(pk=person.pk).exists()
    assert Person.objects.visible_to(staff_b).filter(pk=person.pk).exists()


def test_landlord_cannot_see_other_landlords_tenants(community_a, residence_a):
    landlord_user = make_user(RoleChoices.LANDLORD, username="ll")
    mine = LandlordFactory(station=community_a.station, user=landlord_user)
    my_residence = ResidenceFactory(unit__property__community=community_a, unit__property__landlord=mine)
    assert list(Person.objects.visible_to(landlord_user)) == [my_residence.person]
    assert list(Property.objects.visible_to(landlord_user)) == [my_residence.unit.property]
    assert list(Landlord.objects.visible_to(landlord_user)) == [mine]
    with pytest.raises(Http404):
        get_object_for_user(Person, landlord_user, pk=residence_a.person.pk)


def test_landlord_no_longer_sees_a_tenant_who_left(community_a):
    landlord_user = make_user(RoleChoices.LANDLORD, username="ll")
    mine = LandlordFactory(station=community_a.station, user=landlord_user)
    residence = ResidenceFactory(unit__property__community=community_a, unit__property__landlord=mine)
    residence.status, residence.end_date = "ended", residence.start_date
    residence.save()
    assert not Person.objects.visible_to(landlord_user).exists()
    assert not Residence.objects.visible_to(landlord_user).exists()


def test_employer_sees_own_employees_and_dormitory_only(community_a, station_a):
    employer_user = make_user(RoleChoices.EMPLOYER, username="emp")
    mine = EmployerFactory(station=station_a, user=employer_user)
    theirs = EmployerFactory(station=station_a)
    my_worker = EmploymentFactory(employer=mine, person__registered_station=station_a)
    EmploymentFactory(employer=theirs, person__registered_station=station_a)
    dorm = PropertyFactory(community=community_a, property_type="dormitory", landlord=None, employer=mine)
    dorm_resident = ResidenceFactory(unit=UnitFactory(property=dorm))
    assert set(Person.objects.visible_to(employer_user)) == {my_worker.person, dorm_resident.person}
    assert list(Employer.objects.visible_to(employer_user)) == [mine]
    assert list(Employment.objects.visible_to(employer_user)) == [my_worker]
    assert list(Property.objects.visible_to(employer_user)) == [dorm]


def test_user_without_profile_sees_nothing(db, residence_a):
    from registry.factories import UserFactory

    nobody = UserFactory()
    assert not Person.objects.visible_to(nobody).exists()
    assert not Property.objects.visible_to(nobody).exists()


def test_landlord_role_without_landlord_record_sees_nothing(residence_a):
    orphan = make_user(RoleChoices.LANDLORD, username="orphan")
    assert not Person.objects.visible_to(orphan).exists()


def test_admin_sees_everything(admin_user, residence_a, residence_b):
    assert Person.objects.visible_to(admin_user).count() == 2


def test_a_resident_registered_at_another_station_is_marked_and_seen_by_both(staff_a, staff_b, community_a,
                                                                            community_b):
    """The scope's second test reads only residences marked "registered elsewhere" (its index)."""
    own = ResidenceFactory(unit__property__community=community_a)
    elsewhere = ResidenceFactory(unit__property__community=community_b, person__registered_station=own.station)
    assert own.registered_elsewhere is False and elsewhere.registered_elsewhere is True
    for user in (staff_a, staff_b):
        assert get_object_for_user(Person, user, pk=elsewhere.person.pk) == elsewhere.person
    assert not Person.objects.visible_to(staff_b).filter(pk=own.person.pk).exists()


def test_correcting_the_unit_to_another_station_moves_the_mark_and_the_scope(staff_b, community_a, community_b):
    from housing.services import residence_correct

    residence = ResidenceFactory(unit__property__community=community_a)
    assert residence.registered_elsewhere is False
    other_unit = UnitFactory(property__community=community_b)
    residence_correct(residence=Residence.objects.get(pk=residence.pk), reason_for_change="wrong building",
                      unit=other_unit)
    residence.refresh_from_db()
    assert residence.station_id == community_b.station_id and residence.registered_elsewhere is True
    assert get_object_for_user(Person, staff_b, pk=residence.person.pk) == residence.person
