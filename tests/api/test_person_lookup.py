"""POST /api/v1/persons/lookup/: a whole document or phone number asked in the body, never in a URL (issue 15,
point 1; docs/api.md). Scoped like every read: another station's person is not found."""

from persons.factories import PersonFactory

from .conftest import token_client

URL = "/api/v1/persons/lookup/"


def test_a_document_number_in_the_body_finds_the_person_in_scope_only(world):
    client = token_client(world.users["staff_a"])
    person = world.a.loose_person
    spaced = f"{person.document_number[:6]} {person.document_number[6:14]}-{person.document_number[14:]}"
    answer = client.post(URL, {"document_number": spaced}, format="json")
    assert answer.status_code == 200, answer.content
    assert answer.json()["count"] == 1
    assert [row["id"] for row in answer.json()["results"]] == [person.pk]
    assert answer.json()["results"][0]["document_masked"] == person.document_masked  # masked as in lists
    assert person.document_number not in answer.content.decode()
    # Another station's person does not exist for this user, here as everywhere.
    other = client.post(URL, {"document_number": world.b.loose_person.document_number}, format="json")
    assert other.status_code == 200 and other.json() == {"count": 0, "results": []}


def test_a_phone_number_finds_everyone_in_scope_who_gave_it(world, station_a):
    client = token_client(world.users["staff_a"])
    shared = [PersonFactory(registered_station=station_a, phone="13912345678") for _ in range(2)]
    answer = client.post(URL, {"phone": "+86 139-1234-5678"}, format="json")
    assert answer.status_code == 200
    assert sorted(row["id"] for row in answer.json()["results"]) == sorted(p.pk for p in shared)


def test_bad_questions_get_400_with_the_field_and_portal_users_403(world):
    client = token_client(world.users["staff_a"])
    both = client.post(URL, {"document_number": "110101199003074514", "phone": "13912345678"}, format="json")
    assert both.status_code == 400 and "non_field_errors" in both.json()["fields"]
    assert client.post(URL, {}, format="json").status_code == 400
    bad_phone = client.post(URL, {"phone": "12"}, format="json")
    assert bad_phone.status_code == 400 and "phone" in bad_phone.json()["fields"]
    assert token_client(world.users["landlord"]).post(URL, {"phone": "13912345678"}, format="json").status_code == 403
    assert token_client(None).post(URL, {"phone": "13912345678"}, format="json").status_code in (401, 403)
