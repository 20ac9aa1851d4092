"""The lodging guest register (issue 17, point 1): operators check guests in and out; the station sees its
ledger; nobody else sees anything."""

import datetime

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from lodging.models import Stay
from lodging.services import stay_check_in, stay_check_out
from persons.factories import PersonFactory
from registry.models import AuditEvent, ChangeLog

ID_1 = "110101199003071233"  # valid check digits
ID_2 = "11010519491231002X"


def check_in(client, lodging, **extra):
    data = {"document_type": "resident_id", "document_number": ID_1, "name": "张三", "room": "101", "nights": 2,
            **extra}
    return client.post(f"/portal/lodgings/{lodging.pk}/check-in/", data)


def test_an_operator_checks_a_guest_in_and_out_and_the_register_shows_it(client, landlord_a, guesthouse_a):
    client.force_login(landlord_a.user)
    answer = check_in(client, guesthouse_a)
    assert answer.status_code == 302
    stay = Stay.objects.get()
    assert (stay.room, stay.nights, stay.station_id, stay.is_late) == ("101", 2, guesthouse_a.station_id, False)
    # The document is kept as every document: encrypted, hashed, shown masked.
    assert stay.document_hash and stay.document_number == ID_1
    page = client.get(answer.url)
    text = page.content.decode()
    assert "张三" in text and ID_1 not in text and stay.document_masked in text
    out = client.post(f"/portal/lodgings/{guesthouse_a.pk}/stays/{stay.pk}/check-out/", {"version": stay.version})
    assert out.status_code == 302
    stay.refresh_from_db()
    assert stay.checked_out_at is not None
    # A second tap (an old page) changes nothing.
    before = stay.checked_out_at
    client.post(f"/portal/lodgings/{guesthouse_a.pk}/stays/{stay.pk}/check-out/", {"version": 1})
    stay.refresh_from_db()
    assert stay.checked_out_at == before
    assert AuditEvent.objects.filter(object_type="lodging.stay", object_id=str(stay.pk), action="create").exists()


def test_bad_input_names_the_field_and_saves_nothing(client, landlord_a, guesthouse_a):
    client.force_login(landlord_a.user)
    answer = check_in(client, guesthouse_a, document_number="110101199003071234", nights=0, room="")
    assert answer.status_code == 200
    errors = answer.context["form"].errors
    assert {"document_number", "nights", "room"} <= set(errors)
    passport = check_in(client, guesthouse_a, document_type="passport", document_number="E12345678",
                        document_country="")
    assert "document_country" in passport.context["form"].errors
    future = check_in(client, guesthouse_a, arrived_at=(timezone.localtime() + datetime.timedelta(hours=2))
                      .strftime("%Y-%m-%dT%H:%M"))
    assert "arrived_at" in future.context["form"].errors
    assert not Stay.objects.exists()


def test_a_check_in_recorded_more_than_an_hour_after_arrival_is_late(landlord_a, guesthouse_a, settings):
    now = timezone.now()
    on_time = stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id",
                            document_number=ID_1, name="张三", room="101", nights=1,
                            arrived_at=now - datetime.timedelta(minutes=59))
    late = stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id",
                         document_number=ID_2, name="李四", room="102", nights=1,
                         arrived_at=now - datetime.timedelta(minutes=61))
    assert (on_time.is_late, late.is_late) == (False, True)
    settings.REGISTRY = {**settings.REGISTRY, "LODGING_LATE_MINUTES": 120}
    later = stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id",
                          document_number=ID_2, name="李四", room="102", nights=1,
                          arrived_at=now - datetime.timedelta(minutes=61))
    assert later.is_late is False


def test_only_lodgings_keep_a_guest_register(landlord_a, rental_a):
    with pytest.raises(ValidationError) as caught:
        stay_check_in(lodging=rental_a, actor=landlord_a.user, document_type="resident_id", document_number=ID_1,
                      name="张三", room="1", nights=1)
    assert "property" in caught.value.message_dict


def test_another_operator_and_station_staff_cannot_use_the_register(client, landlord_b, staff_a, guesthouse_a):
    for user in (landlord_b.user, staff_a):
        client.force_login(user)
        answer = check_in(client, guesthouse_a)
        assert answer.status_code in (403, 404)
        assert client.get(f"/portal/lodgings/{guesthouse_a.pk}/").status_code in (403, 404)
    assert not Stay.objects.exists()


@pytest.fixture
def stays(landlord_a, landlord_b, guesthouse_a, guesthouse_b):
    now = timezone.now()
    made = [
        stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id", document_number=ID_1,
                      name="张三", room="101", nights=3, arrived_at=now - datetime.timedelta(minutes=30)),
        stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id", document_number=ID_2,
                      name="李四", room="102", nights=1, arrived_at=now - datetime.timedelta(minutes=20)),
        stay_check_in(lodging=guesthouse_b, actor=landlord_b.user, document_type="resident_id", document_number=ID_1,
                      name="张三", room="1", nights=1, arrived_at=now - datetime.timedelta(days=3)),
    ]
    stay_check_out(stay=made[1])
    return made


def test_the_station_sees_its_ledger_and_who_is_in_now_and_no_other_stations(client, staff_a, staff_b, stays):
    client.force_login(staff_a)
    page = client.get("/lodging/")
    assert page.status_code == 200
    assert {s.pk for s in page.context["page_obj"].object_list} == {stays[0].pk, stays[1].pk}
    in_now = client.get("/lodging/?status=in")
    assert [s.pk for s in in_now.context["page_obj"].object_list] == [stays[0].pk]
    # The other station's guest is not there, even looked for by id through the lodging filter.
    other = client.get(f"/lodging/?property={stays[2].property_id}")
    assert stays[2].pk not in {s.pk for s in other.context["page_obj"].object_list}
    client.force_login(staff_b)
    assert [s.pk for s in client.get("/lodging/").context["page_obj"].object_list] == [stays[2].pk]


def test_the_search_box_finds_stays_by_document_or_name_in_scope(client, staff_a, stays):
    client.force_login(staff_a)
    for term in (ID_1, "张三", "zs"):
        page = client.post("/search/", {"q": term, "_seal": "1"})
        found = [s.pk for s in page.context["stays"]]
        assert found == [stays[0].pk], term  # not station B's stay under the same document
    page = client.post("/lodging/", {"q": ID_2, "_seal": "1"})
    assert [s.pk for s in page.context["page_obj"].object_list] == [stays[1].pk]


def test_a_stay_shows_on_the_page_of_the_person_registered_under_that_document(client, staff_a, station_a, stays):
    person = PersonFactory(document_type="resident_id", document_number=ID_1, registered_station=station_a)
    client.force_login(staff_a)
    page = client.get(f"/persons/{person.pk}/")
    assert [s.pk for s in page.context["stays"]] == [stays[0].pk]
    assert "如家招待所" in page.content.decode()


def test_landlords_and_staff_through_the_api(client, landlord_a, staff_a, staff_b, guesthouse_a, guesthouse_b):
    from rest_framework.test import APIClient

    api = APIClient()
    api.force_authenticate(landlord_a.user)
    body = {"property": guesthouse_a.pk, "document_type": "resident_id", "document_number": ID_1, "name": "张三",
            "room": "101", "nights": 2}
    created = api.post("/api/v1/stays/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert created.status_code == 201, created.content
    again = api.post("/api/v1/stays/", body, format="json", HTTP_IDEMPOTENCY_KEY="k1")
    assert again.status_code == 201 and Stay.objects.count() == 1
    elsewhere = api.post("/api/v1/stays/", {**body, "property": guesthouse_b.pk}, format="json")
    assert elsewhere.status_code == 400 and "property" in elsewhere.json()["fields"]
    bad = api.post("/api/v1/stays/", {**body, "document_number": "123"}, format="json")
    assert bad.status_code == 400 and "document_number" in bad.json()["fields"]
    stay_id = created.json()["id"]
    assert api.post(f"/api/v1/stays/{stay_id}/check-out/", {}, format="json").status_code == 428
    out = api.post(f"/api/v1/stays/{stay_id}/check-out/", {}, format="json", HTTP_IF_MATCH=created["ETag"])
    assert out.status_code == 200 and out.json()["checked_out_at"]
    api.force_authenticate(staff_a)
    listed = api.get("/api/v1/stays/")
    assert [s["id"] for s in listed.json()["results"]] == [stay_id]
    assert ID_1 not in listed.content.decode()
    assert api.post("/api/v1/stays/", body, format="json").status_code == 403
    assert api.get(f"/api/v1/stays/{stay_id}/").status_code == 200
    assert AuditEvent.objects.filter(action="view", object_type="lodging.stay", object_id=str(stay_id),
                                     actor_id=staff_a.pk).exists()  # reading a guest's stay is audited
    api.force_authenticate(staff_b)
    assert api.get("/api/v1/stays/").json()["results"] == []
    assert api.get(f"/api/v1/stays/{stay_id}/").status_code == 404


def test_stays_are_in_the_change_feed_and_the_export(client, staff_a, stays):
    assert ChangeLog.objects.filter(object_type="lodging.stay").count() >= 3
    client.force_login(staff_a)
    answer = client.get("/exports/stays.csv")
    assert answer.status_code == 200
    text = b"".join(answer.streaming_content).decode("utf-8-sig")
    assert "张三" in text and "李四" in text and "和平街" not in text and ID_1 not in text


def test_todays_guests_are_those_in_at_some_time_today(client, staff_a, stays, landlord_a, guesthouse_a):
    yesterday = timezone.now() - datetime.timedelta(days=1, hours=2)
    left_yesterday = stay_check_in(lodging=guesthouse_a, actor=landlord_a.user, document_type="resident_id",
                                   document_number=ID_2, name="王五", room="101", nights=1, arrived_at=yesterday)
    stay_check_out(stay=left_yesterday, at=yesterday + datetime.timedelta(hours=3))
    client.force_login(staff_a)
    today = timezone.localdate().isoformat()
    page = client.get("/lodging/", {"day": today})
    assert {s.pk for s in page.context["page_obj"].object_list} == {stays[0].pk, stays[1].pk}
    assert f"?day={today}" in page.content.decode()
