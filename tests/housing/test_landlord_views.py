import datetime
import random

import pytest
from django.urls import reverse

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory
from housing.filtersets import LandlordFilterSet
from housing.models import Landlord
from persons.identity import make_resident_id
from registry.factories import make_user
from registry.models import AuditEvent
from registry.roles import RoleChoices

LIST = reverse("housing:landlord_list")
CREATE = reverse("housing:landlord_create")
_rng = random.Random(7)


def _new_id(year=1972):
    return make_resident_id(birth_date=datetime.date(year, 6, 1), sex="F", rng=_rng)


@pytest.fixture(autouse=True)
def _english(client):
    # The product defaults to Chinese; these tests read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


@pytest.fixture
def landlord_a(station_a):
    return LandlordFactory(station=station_a, name="王建国", phone="13800001111")


@pytest.fixture
def landlord_b(station_b):
    return LandlordFactory(station=station_b, name="赵六")


def _pages(landlord):
    return [LIST, CREATE, reverse("housing:landlord_detail", args=[landlord.pk]),
            reverse("housing:landlord_edit", args=[landlord.pk])]


def _data(landlord=None, **overrides):
    data = {"name": "李秀英", "document_type": "resident_id", "document_country": "", "document_number": "",
            "phone": "13912345678", "address": "东湖路1号"}
    if landlord is not None:
        data.update(name=landlord.name, document_type=landlord.document_type, phone=landlord.phone,
                    address=landlord.address, version=landlord.version)
    data.update(overrides)
    return data


# ---- access ---------------------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_every_landlord_page(client, landlord_a):
    for url in _pages(landlord_a):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"], url


def test_landlord_gets_403_on_staff_pages_even_for_their_own_record(client, station_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    own = LandlordFactory(station=station_a, user=user)
    client.force_login(user)
    for url in _pages(own):
        assert client.get(url).status_code == 403, url
    assert client.post(reverse("housing:landlord_edit", args=[own.pk]), _data(own)).status_code == 403


def test_supervisor_reads_landlords_but_may_not_create_or_edit(client, supervisor, landlord_a):
    client.force_login(supervisor)
    assert client.get(LIST).status_code == 200
    assert client.get(reverse("housing:landlord_detail", args=[landlord_a.pk])).status_code == 200
    assert client.get(CREATE).status_code == 403
    assert client.get(reverse("housing:landlord_edit", args=[landlord_a.pk])).status_code == 403


def test_other_stations_landlord_is_404(client, staff_a, landlord_b):
    client.force_login(staff_a)
    for url in _pages(landlord_b)[2:]:
        assert client.get(url).status_code == 404, url
    response = client.post(reverse("housing:landlord_edit", args=[landlord_b.pk]), _data(landlord_b, name="改名"))
    assert response.status_code == 404
    landlord_b.refresh_from_db()
    assert landlord_b.name == "赵六"


def test_staff_in_scope_sees_every_page(client, staff_a, landlord_a):
    client.force_login(staff_a)
    for url in _pages(landlord_a):
        assert client.get(url).status_code == 200, url


# ---- list -------------------------------------------------------------------------------------------


def test_list_shows_own_station_only_with_masked_numbers(client, staff_a, landlord_a, landlord_b):
    client.force_login(staff_a)
    response = client.get(LIST)
    assert list(response.context["page_obj"].object_list) == [landlord_a]
    body = response.content.decode()
    assert landlord_a.document_masked in body
    assert landlord_a.document_number not in body
    assert landlord_b.name not in body
    assert "1 landlord" in body


def test_list_search_by_pinyin_initials_full_number_and_phone_tail(client, staff_a, landlord_a, station_a):
    LandlordFactory(station=station_a, name="李四", phone="13700002222")
    client.force_login(staff_a)
    for query in ("wjg", "王", landlord_a.document_number, "1111", landlord_a.document_number[-4:]):
        found = client.get(LIST, {"q": query}, follow=True).context["page_obj"].object_list
        assert list(found) == [landlord_a], query


def test_list_counts_each_landlords_properties(client, staff_a, landlord_a, community_a):
    PropertyFactory.create_batch(2, community=community_a, landlord=landlord_a)
    client.force_login(staff_a)
    [row] = client.get(LIST).context["page_obj"].object_list
    assert row.property_count == 2


def test_list_empty_states(client, staff_a):
    client.force_login(staff_a)
    assert "No landlords yet" in client.get(LIST).content.decode()
    assert "No landlords match" in client.get(LIST, {"q": "不存在"}, follow=True).content.decode()


def test_list_query_count_is_the_same_for_3_and_20_landlords(client, staff_a, community_a,
                                                              django_assert_num_queries):
    for _ in range(3):
        PropertyFactory(community=community_a)
    client.force_login(staff_a)
    client.get(LIST)
    # user with profile (scope), count, rows (the session and the permissions come from the cache)
    with django_assert_num_queries(4):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 3
    for _ in range(17):
        PropertyFactory(community=community_a)
    with django_assert_num_queries(4):
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 20


# ---- detail -----------------------------------------------------------------------------------------


def test_detail_lists_their_properties_with_occupancy_and_never_the_full_number(client, staff_a, landlord_a,
                                                                               community_a, community_b):
    mine = PropertyFactory(community=community_a, landlord=landlord_a, address="桃园街5号")
    ResidenceFactory(unit__property=mine)
    client.force_login(staff_a)
    response = client.get(reverse("housing:landlord_detail", args=[landlord_a.pk]))
    body = response.content.decode()
    assert list(response.context["properties"]) == [mine]
    assert response.context["properties"][0].occupant_count == 1
    assert reverse("housing:property_detail", args=[mine.pk]) in body
    assert landlord_a.document_masked in body and landlord_a.document_number not in body
    assert f"{reverse('housing:property_create')}?landlord={landlord_a.pk}" in body


def test_detail_read_is_recorded_in_the_audit_trail(client, staff_a, landlord_a):
    client.force_login(staff_a)
    client.get(reverse("housing:landlord_detail", args=[landlord_a.pk]))
    assert AuditEvent.objects.filter(action="view", object_type="housing.landlord", object_id=str(landlord_a.pk),
                                     actor_id=staff_a.pk).exists()


def test_detail_empty_state_without_properties(client, staff_a, landlord_a):
    client.force_login(staff_a)
    body = client.get(reverse("housing:landlord_detail", args=[landlord_a.pk])).content.decode()
    assert "No properties recorded for this landlord." in body


# ---- create and edit --------------------------------------------------------------------------------


def test_create_landlord_in_the_users_station_and_go_to_their_page(client, staff_a, station_a):
    number = _new_id()
    client.force_login(staff_a)
    response = client.post(CREATE, _data(document_number=number.lower()), follow=True)
    landlord = Landlord.objects.get()
    assert response.redirect_chain[-1][0] == reverse("housing:landlord_detail", args=[landlord.pk])
    assert landlord.station == station_a and landlord.document_number == number.upper()
    assert landlord.name_initials == "lxy"
    assert "Landlord added" in response.content.decode()
    assert number not in response.content.decode()


def test_create_with_a_bad_id_number_names_the_field_and_saves_nothing(client, staff_a):
    client.force_login(staff_a)
    good = _new_id()  # one number: its check digit changed, whatever it was
    bad = good[:-1] + ("0" if good[-1] != "0" else "1")
    response = client.post(CREATE, _data(document_number=bad))
    assert response.status_code == 200
    assert "document_number" in response.context["form"].errors
    assert "is-invalid" in response.content.decode()
    assert not Landlord.objects.exists()


def test_create_with_a_bad_phone_names_the_phone(client, staff_a):
    client.force_login(staff_a)
    response = client.post(CREATE, _data(document_number=_new_id(), phone="12345"))
    assert "phone" in response.context["form"].errors
    assert not Landlord.objects.exists()


def test_create_with_an_already_registered_number_names_the_field(client, staff_a, landlord_b):
    client.force_login(staff_a)
    response = client.post(CREATE, _data(document_number=landlord_b.document_number))
    assert response.context["form"].errors["document_number"] == [
        "Document number: a landlord with this number is already registered."]
    assert Landlord.objects.count() == 1


def test_admin_with_every_station_in_scope_chooses_the_station(client, admin_user, station_a, station_b):
    client.force_login(admin_user)
    assert "station" in client.get(CREATE).context["form"].fields
    response = client.post(CREATE, _data(document_number=_new_id(), station=station_b.pk))
    assert response.status_code == 302
    assert Landlord.objects.get().station == station_b


def test_edit_page_never_shows_the_full_number(client, staff_a, landlord_a):
    client.force_login(staff_a)
    body = client.get(reverse("housing:landlord_edit", args=[landlord_a.pk])).content.decode()
    assert landlord_a.document_number not in body
    assert landlord_a.document_masked in body


def test_edit_with_the_number_left_empty_keeps_it(client, staff_a, landlord_a):
    number = landlord_a.document_number
    client.force_login(staff_a)
    response = client.post(reverse("housing:landlord_edit", args=[landlord_a.pk]),
                           _data(landlord_a, name="王建军", phone="010-12345678"))
    assert response.status_code == 302
    landlord_a.refresh_from_db()
    assert (landlord_a.name, landlord_a.phone, landlord_a.document_number, landlord_a.version) == (
        "王建军", "010-12345678", number, 2)
    assert landlord_a.name_initials == "wjj"


def test_edit_with_a_new_number_replaces_it_and_its_masked_form(client, staff_a, landlord_a):
    number = _new_id(1980)
    client.force_login(staff_a)
    response = client.post(reverse("housing:landlord_edit", args=[landlord_a.pk]),
                           _data(landlord_a, document_number=number))
    assert response.status_code == 302
    landlord_a.refresh_from_db()
    assert landlord_a.document_number == number
    assert landlord_a.document_masked.startswith(number[:6]) and landlord_a.document_masked.endswith(number[-4:])
    assert Landlord.objects.filter(document_hash=Landlord.document_key("resident_id", number)).exists()


def test_edit_changing_the_document_type_requires_the_number(client, staff_a, landlord_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:landlord_edit", args=[landlord_a.pk]),
                           _data(landlord_a, document_type="passport", document_country="KOR"))
    assert "document_number" in response.context["form"].errors
    landlord_a.refresh_from_db()
    assert (landlord_a.document_type, landlord_a.version) == ("resident_id", 1)


def test_edit_with_an_empty_name_names_the_field_and_saves_nothing(client, staff_a, landlord_a):
    client.force_login(staff_a)
    response = client.post(reverse("housing:landlord_edit", args=[landlord_a.pk]), _data(landlord_a, name=""))
    assert response.status_code == 200 and "name" in response.context["form"].errors
    landlord_a.refresh_from_db()
    assert (landlord_a.name, landlord_a.version) == ("王建国", 1)


def test_edit_from_a_stale_page_is_refused_and_saves_nothing(client, staff_a, landlord_a):
    client.force_login(staff_a)
    url = reverse("housing:landlord_edit", args=[landlord_a.pk])
    stale = _data(landlord_a)
    assert client.post(url, {**stale, "phone": "13800002222"}).status_code == 302
    response = client.post(url, {**stale, "phone": "13800003333"})
    assert response.status_code == 200
    assert "changed by someone else" in " ".join(response.context["form"].non_field_errors())
    landlord_a.refresh_from_db()
    assert (landlord_a.phone, landlord_a.version) == ("13800002222", 2)


# ---- filterset shared with the API --------------------------------------------------------------------


def test_landlord_filterset_searches_any_landlord_queryset(landlord_a, landlord_b):
    filterset = LandlordFilterSet({"q": "zl"}, queryset=Landlord.objects.all())
    assert list(filterset.qs) == [landlord_b]
