"""A person's identity document replaced (issue 17, point 2): a new passport, a permit exchanged for an ID card.
One service behind the page and ``POST /api/v1/persons/<id>/replace-document/``."""

import datetime

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory
from persons.choices import DocumentTypeChoices, SexChoices
from persons.identity import make_resident_id
from persons.models import Person
from persons.selectors import document_condition
from registry.models import AuditAction, AuditEvent

BORN = datetime.date(1988, 4, 12)
LIST = reverse("persons:person_list")


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def residence_a(community_a, station_a):
    return ResidenceFactory(unit__property__community=community_a, person__registered_station=station_a,
                            person__name="王芳", person__sex=SexChoices.FEMALE, person__birth_date=BORN,
                            person__document_type=DocumentTypeChoices.HKMT_PERMIT,
                            person__document_number=_hkmt_permit())


@pytest.fixture
def person_a(residence_a):
    return residence_a.person


@pytest.fixture
def person_b(community_b, station_b):
    return ResidenceFactory(unit__property__community=community_b, person__registered_station=station_b).person


@pytest.fixture
def api(staff_a):
    client = APIClient()
    client.force_authenticate(staff_a)
    return client


def _hkmt_permit() -> str:
    from stdnum.iso7064 import mod_11_2

    body = f"810000{BORN:%Y%m%d}002"
    return body + mod_11_2.calc_check_digit(body)


def _new_id() -> str:
    return make_resident_id(birth_date=BORN, sex=SexChoices.FEMALE, region="110101")


def _url(person):
    return reverse("persons:person_replace_document", args=[person.pk])


def _form(person, number, **extra):
    return {"document_type": DocumentTypeChoices.RESIDENT_ID, "document_country": "", "document_number": number,
            "reason": "港澳居民居住证换领身份证", "version": person.version, **extra}


def _finds(client, text) -> list:
    return list(client.get(LIST, {"q": text}, follow=True).context["page_obj"].object_list)


def test_a_permit_exchanged_for_an_id_card_keeps_the_person_and_their_history(client, staff_a, person_a,
                                                                               residence_a):
    old_number = person_a.document_number
    new_number = _new_id()
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, new_number))
    assert response.status_code == 302
    person = Person.objects.get(pk=person_a.pk)
    assert person.document_type == DocumentTypeChoices.RESIDENT_ID and person.document_number == new_number
    assert person.version == 2
    assert list(person.residences.all()) == [residence_a]
    # Re-hashed: the new number finds the person (whole and by its visible parts), the old one no longer.
    assert Person.objects.filter(document_condition(Person, new_number)).get() == person
    assert not Person.objects.filter(document_condition(Person, old_number)).exists()
    assert person.document_head_hash == Person.part_key("head", new_number[:6])
    assert _finds(client, new_number) == [person]
    assert _finds(client, old_number) == []
    # Encrypted at rest: the column holds no number in clear.
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT document_number FROM persons_person WHERE id = %s", [person.pk])
        assert new_number not in cursor.fetchone()[0]


def test_the_replacement_is_audited_with_its_reason_and_no_number(client, staff_a, person_a):
    new_number = _new_id()
    client.force_login(staff_a)
    client.post(_url(person_a), _form(person_a, new_number))
    event = AuditEvent.objects.get(object_type="persons.person", object_id=str(person_a.pk),
                                   action=AuditAction.UPDATE)
    assert event.reason == "港澳居民居住证换领身份证" and event.actor_id == staff_a.pk
    assert event.changes["document_number"] == ["", "changed"]
    assert event.changes["document_type"] == [DocumentTypeChoices.HKMT_PERMIT, DocumentTypeChoices.RESIDENT_ID]
    assert new_number not in str(event.changes)
    history = client.get(reverse("persons:person_detail", args=[person_a.pk])).context["history"]
    assert {str(f) for f in history[0]["fields"]} >= {"document number", "document type"}


def test_a_number_registered_to_another_person_is_refused(client, staff_a, person_a, person_b):
    client.force_login(staff_a)
    # person_b is another station's: the message says it is taken, not whose it is.
    response = client.post(_url(person_a), _form(person_a, person_b.document_number))
    assert response.status_code == 200
    assert "a person with this number is already registered" in response.content.decode()
    assert person_b.name not in response.content.decode()
    person_a.refresh_from_db()
    assert person_a.document_type == DocumentTypeChoices.HKMT_PERMIT and person_a.version == 1


def test_the_same_number_is_refused(client, staff_a, person_a):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, person_a.document_number,
                                                 document_type=DocumentTypeChoices.HKMT_PERMIT))
    assert response.status_code == 200
    assert "this is the document already recorded" in response.content.decode()


def test_the_new_number_is_validated_as_at_registration(client, staff_a, person_a):
    client.force_login(staff_a)
    good = _new_id()  # one number: its check digit changed, whatever it was
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(_url(person_a), _form(person_a, bad))
    assert "check digit" in response.content.decode()
    # A number whose birth date disagrees with the person's is refused too.
    other_born = make_resident_id(birth_date=datetime.date(1970, 1, 1), sex=SexChoices.FEMALE)
    response = client.post(_url(person_a), _form(person_a, other_born))
    assert "does not agree with the ID number" in response.content.decode()
    # A passport needs its country.
    response = client.post(_url(person_a), _form(person_a, "E12345678", document_type="passport"))
    assert response.context["form"].errors["document_country"]
    person_a.refresh_from_db()
    assert person_a.version == 1


def test_a_reason_is_required(client, staff_a, person_a):
    client.force_login(staff_a)
    response = client.post(_url(person_a), _form(person_a, _new_id(), reason=""))
    assert response.status_code == 200 and response.context["form"].errors["reason"]
    person_a.refresh_from_db()
    assert person_a.version == 1


def test_out_of_scope_is_404_and_a_supervisor_is_403(client, staff_a, supervisor, person_a, person_b):
    client.force_login(staff_a)
    assert client.get(_url(person_b)).status_code == 404
    assert client.post(_url(person_b), _form(person_b, _new_id())).status_code == 404
    client.force_login(supervisor)
    assert client.get(_url(person_a)).status_code == 403


# ---- the API action ------------------------------------------------------------------------------------------


def _api_url(person):
    return f"/api/v1/persons/{person.pk}/replace-document/"


def _body(number, **extra):
    return {"document_type": "resident_id", "document_number": number, "reason": "换领身份证", **extra}


def test_api_replaces_the_document_with_if_match_and_answers_the_new_etag(api, person_a):
    etag = api.get(f"/api/v1/persons/{person_a.pk}/")["ETag"]
    new_number = _new_id()
    assert api.post(_api_url(person_a), _body(new_number), format="json").status_code == 428
    response = api.post(_api_url(person_a), _body(new_number), format="json", HTTP_IF_MATCH=etag)
    assert response.status_code == 200
    assert response.json()["document_type"] == "resident_id" and response["ETag"] == f'"{person_a.pk}-2"'
    assert "document_number" not in response.json()
    assert response.json()["document_masked"] == new_number[:6] + "********" + new_number[-4:]
    assert AuditEvent.objects.filter(object_id=str(person_a.pk), action=AuditAction.UPDATE,
                                     reason="换领身份证", via="api").exists()
    # The ETag read before is stale now.
    again = api.post(_api_url(person_a), _body(_new_id()), format="json", HTTP_IF_MATCH=etag)
    assert again.status_code == 412
    assert Person.objects.get(pk=person_a.pk).document_number == new_number


def test_api_refuses_another_persons_number_and_a_missing_reason(api, person_a, person_b):
    response = api.post(_api_url(person_a), _body(person_b.document_number, version=1), format="json")
    assert response.status_code == 400 and "document_number" in response.json()["fields"]
    response = api.post(_api_url(person_a), {"document_type": "resident_id", "document_number": _new_id(),
                                             "version": 1}, format="json")
    assert response.status_code == 400 and "reason" in response.json()["fields"]


def test_api_out_of_scope_is_404_and_read_only_roles_are_403(api, supervisor, person_a, person_b):
    assert api.post(_api_url(person_b), _body(_new_id(), version=1), format="json").status_code == 404
    reader = APIClient()
    reader.force_authenticate(supervisor)
    assert reader.post(_api_url(person_a), _body(_new_id(), version=1), format="json").status_code == 403
    assert APIClient().post(_api_url(person_a), _body(_new_id(), version=1), format="json").status_code in (401, 403)
