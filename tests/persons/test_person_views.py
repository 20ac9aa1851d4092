import pytest
from django.urls import reverse

from housing.factories import LandlordFactory, ResidenceFactory, UnitFactory
from registry.factories import make_user
from registry.roles import RoleChoices

LIST = reverse("persons:person_list")


@pytest.fixture
def residence_a(community_a):
    return ResidenceFactory(unit__property__community=community_a)


@pytest.fixture
def residence_b(community_b):
    return ResidenceFactory(unit__property__community=community_b)


def test_anonymous_is_sent_to_login(client, residence_a):
    for url in (LIST, reverse("persons:person_detail", args=[residence_a.person_id])):
        response = client.get(url)
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_landlord_gets_403_on_staff_pages_even_for_own_tenant(client, community_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    landlord = LandlordFactory(station=community_a.station, user=user)
    tenant = ResidenceFactory(unit=UnitFactory(property__community=community_a, property__landlord=landlord))
    client.force_login(user)
    assert client.get(LIST).status_code == 403
    assert client.get(reverse("persons:person_detail", args=[tenant.person_id])).status_code == 403


def test_other_stations_person_is_404(client, staff_a, residence_b):
    client.force_login(staff_a)
    assert client.get(reverse("persons:person_detail", args=[residence_b.person_id])).status_code == 404


def test_list_shows_own_station_only_and_masks_numbers(client, staff_a, residence_a, residence_b):
    client.force_login(staff_a)
    response = client.get(LIST)
    assert list(response.context["page_obj"].object_list) == [residence_a.person]
    body = response.content.decode()
    assert residence_a.person.document_masked in body
    assert residence_a.person.document_number not in body
    assert residence_b.person.name not in body


def test_list_search_by_pinyin_initials(client, staff_a, community_a):
    wanted = ResidenceFactory(unit__property__community=community_a, person__name="张三")
    ResidenceFactory(unit__property__community=community_a, person__name="李四")
    client.force_login(staff_a)
    response = client.get(LIST, {"q": "zs"}, follow=True)
    assert list(response.context["page_obj"].object_list) == [wanted.person]


def test_list_query_count_does_not_grow_with_page_size(client, staff_a, community_a):
    client.force_login(staff_a)
    ResidenceFactory.create_batch(3, unit__property__community=community_a)
    client.get(LIST)  # warm the session and permission caches
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(LIST, {"per_page": 50})
    ResidenceFactory.create_batch(20, unit__property__community=community_a)
    with CaptureQueriesContext(connection) as large:
        response = client.get(LIST, {"per_page": 50})
    assert len(response.context["page_obj"].object_list) == 23
    assert len(large.captured_queries) == len(small.captured_queries)
    assert len(large.captured_queries) <= 8


def test_access_log_is_shown_to_officers_not_to_staff(client, staff_a, officer_a, residence_a):
    url = reverse("persons:person_detail", args=[residence_a.person_id])
    client.force_login(staff_a)
    client.get(url)
    assert "access_log" not in client.get(url).context
    client.force_login(officer_a)
    response = client.get(url)
    viewers = [event.actor_username for event in response.context["access_log"]]
    assert viewers[:1] == ["officer_a"] and "staff_a" in viewers


def test_detail_offers_deregister_for_current_residence_only(client, staff_a, residence_a):
    client.force_login(staff_a)
    body = client.get(reverse("persons:person_detail", args=[residence_a.person_id])).content.decode()
    assert reverse("residences:end", args=[residence_a.pk]) in body


def test_pages_with_personal_data_are_not_cached(client, staff_a, residence_a):
    client.force_login(staff_a)
    response = client.get(reverse("persons:person_detail", args=[residence_a.person_id]))
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert "HX-Request" in response["Vary"]
