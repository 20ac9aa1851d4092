import datetime

import pytest
from django.urls import reverse

from housing.factories import ResidenceFactory, UnitFactory
from housing.models import Residence
from persons.factories import PersonFactory
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import make_user
from registry.roles import RoleChoices

URL = reverse("persons:register")
BORN = datetime.date(1992, 4, 18)
TODAY = datetime.date.today()


@pytest.fixture
def unit_a(community_a):
    return UnitFactory(property__community=community_a, capacity=2)


@pytest.fixture
def staff_client(client, staff_a):
    client.force_login(staff_a)
    return client


def _place(unit):
    return {"community": unit.property.community_id, "property": unit.property_id, "unit": unit.pk,
            "reason": "work", "start_date": TODAY.isoformat()}


def _new_person(number, **extra):
    return {"step": "register", "document_type": "resident_id", "document_number": number, "document_country": "",
            "name": "赵敏", "sex": "F", "birth_date": BORN.isoformat(), "phone": "138 1234 5678", **extra}


def test_anonymous_is_sent_to_login(client):
    response = client.get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_landlord_may_not_use_the_desk_registration(client, db):
    client.force_login(make_user(RoleChoices.LANDLORD, username="ll"))
    assert client.get(URL).status_code == 403


def test_lookup_of_unknown_number_prefills_birth_date_and_sex(staff_client):
    number = make_resident_id(birth_date=BORN, sex="F")
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id", "document_number": number})
    assert response.context["step"] == "register"
    assert response.context["form"].initial["birth_date"] == BORN
    assert response.context["form"].initial["sex"] == "F"


def test_lookup_of_a_mistyped_number_names_the_field_and_stays_on_step_one(staff_client):
    number = make_resident_id(birth_date=BORN, sex="F")
    wrong = number[:-1] + ("0" if number[-1] != "0" else "1")
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id", "document_number": wrong})
    assert response.context["step"] == "lookup"
    assert "document_number" in response.context["form"].errors


def test_registering_a_new_person_creates_person_and_residence(staff_client, staff_a, unit_a):
    number = make_resident_id(birth_date=BORN, sex="F")
    response = staff_client.post(URL, {**_new_person(number.lower()), **_place(unit_a)})
    person = Person.objects.by_document("resident_id", number).get()
    assert response.status_code == 302 and response["Location"] == reverse("persons:person_detail", args=[person.pk])
    residence = person.residences.get()
    assert (residence.unit, residence.status, residence.source, residence.created_by) == (unit_a, "active", "desk",
                                                                                          staff_a)
    assert person.phone == "13812345678" and person.registered_station == unit_a.property.station


def test_bad_input_saves_nothing_and_names_each_field(staff_client, unit_a):
    number = make_resident_id(birth_date=BORN, sex="F")
    data = {**_new_person(number, name="赵敏1", birth_date="1990-01-01", phone="12345"), **_place(unit_a)}
    response = staff_client.post(URL, data)
    errors = response.context["form"].errors
    assert {"name", "birth_date", "phone"} <= set(errors)
    assert not Person.objects.exists() and not Residence.objects.exists()


def test_a_unit_of_another_station_cannot_be_chosen(staff_client, community_b):
    foreign = UnitFactory(property__community=community_b)
    number = make_resident_id(birth_date=BORN, sex="F")
    response = staff_client.post(URL, {**_new_person(number), **_place(foreign)})
    assert response.status_code == 200
    assert not Residence.objects.exists()


def test_possible_duplicate_must_be_confirmed(staff_client, unit_a, station_a):
    PersonFactory(name="赵敏", birth_date=BORN, sex="F", registered_station=station_a)
    number = make_resident_id(birth_date=BORN, sex="F")
    response = staff_client.post(URL, {**_new_person(number), **_place(unit_a)})
    assert "confirm_not_duplicate" in response.context["form"].errors
    assert len(response.context["duplicates"]) == 1
    assert Person.objects.count() == 1
    response = staff_client.post(URL, {**_new_person(number, confirm_not_duplicate="on"), **_place(unit_a)})
    assert response.status_code == 302 and Person.objects.count() == 2


def test_known_person_is_shown_and_moved_here_in_one_step(staff_client, unit_a, community_a):
    old = ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=90))
    person = old.person
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id",
                                       "document_number": person.document_number})
    assert response.context["step"] == "move"
    assert response.context["person"] == person and response.context["current_residence"] == old
    response = staff_client.post(URL, {"step": "move", "document_type": "resident_id",
                                       "document_number": person.document_number, **_place(unit_a)})
    assert response.status_code == 302
    old.refresh_from_db()
    assert (old.status, old.end_date) == ("ended", TODAY)
    assert person.residences.get(status="active").unit == unit_a


def test_person_known_only_to_another_station_is_registered_without_revealing_them(staff_client, unit_a,
                                                                                   community_b):
    elsewhere = ResidenceFactory(unit__property__community=community_b)
    person = elsewhere.person
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id",
                                       "document_number": person.document_number})
    assert response.context["step"] == "register"  # nothing about them is shown
    assert person.name not in response.content.decode()
    wrong_name = {**_new_person(person.document_number, name="某某某", sex=person.sex,
                                birth_date=person.birth_date.isoformat()), **_place(unit_a)}
    response = staff_client.post(URL, wrong_name)
    assert "name" in response.context["form"].errors
    right = {**wrong_name, "name": person.name}
    assert staff_client.post(URL, right).status_code == 302
    elsewhere.refresh_from_db()
    assert elsewhere.status == "ended"
    assert Person.objects.count() == 1


def test_unit_chosen_on_a_visit_is_preselected_in_step_two(staff_client, unit_a, community_b):
    number = make_resident_id(birth_date=BORN, sex="F")
    page = staff_client.get(URL, {"unit": unit_a.pk})
    assert f'value="{unit_a.pk}"' in page.content.decode()
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id", "document_number": number,
                                       "prefill_unit": unit_a.pk})
    initial = response.context["form"].initial
    assert (initial["community"], initial["property"], initial["unit"]) == (
        unit_a.property.community_id, unit_a.property_id, unit_a.pk)
    foreign = UnitFactory(property__community=community_b)
    response = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id", "document_number": number,
                                       "prefill_unit": foreign.pk})
    assert "unit" not in response.context["form"].initial  # another station's unit is not offered


def test_the_employer_list_holds_the_stations_employers_by_name_without_an_instance_each(
        staff_client, station_a, station_b):
    from django.db.models.signals import post_init

    from persons.factories import EmployerFactory
    from persons.models import Employer

    ours = [EmployerFactory(station=station_a, name=name) for name in ("Cedar Co", "Alder Co", "Birch Co")]
    EmployerFactory(station=station_b, name="别站公司")
    built = []

    def count(sender, instance, **kwargs):
        built.append(instance)

    post_init.connect(count, sender=Employer)
    try:
        number = make_resident_id(birth_date=BORN, sex="F")
        page = staff_client.post(URL, {"step": "lookup", "document_type": "resident_id", "document_number": number})
    finally:
        post_init.disconnect(count, sender=Employer)
    html = page.content.decode()
    select = html[html.index('<select name="employer"'):]
    select = select[:select.index("</select>")]
    places = [select.find(f'<option value="{e.pk}">{e.name}</option>') for e in sorted(ours, key=lambda e: e.name)]
    assert -1 not in places and places == sorted(places)  # every one, by name
    assert "别站公司" not in select
    assert built == []  # options read as (id, name) pairs, not as an Employer each


def test_the_employer_chosen_is_checked_against_the_users_employers(staff_client, unit_a, station_a, station_b):
    from persons.factories import EmployerFactory
    from persons.models import Employment

    foreign = EmployerFactory(station=station_b)
    number = make_resident_id(birth_date=BORN, sex="F")
    refused = staff_client.post(URL, {**_new_person(number, employer=foreign.pk), **_place(unit_a)})
    assert refused.status_code == 200 and "employer" in refused.context["form"].errors
    assert not Person.objects.filter(name="赵敏").exists()
    ours = EmployerFactory(station=station_a)
    done = staff_client.post(URL, {**_new_person(number, employer=ours.pk), **_place(unit_a)})
    assert done.status_code == 302
    assert Employment.objects.filter(person__name="赵敏", employer=ours).count() == 1
