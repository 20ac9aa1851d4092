"""The search box's properties: addresses matched anywhere, registration numbers exactly, within scope only."""

import pytest
from django.urls import reverse

from housing.factories import PropertyFactory


@pytest.fixture
def more(rental_a, rental_b, community_a):
    return PropertyFactory(community=community_a, landlord=rental_a.landlord, address="甲二路1号")


def _found(client, q):
    response = client.get(reverse("search"), {"q": q}, follow=True)
    assert response.status_code == 200
    return [p.address for p in response.context["properties"]]


def test_address_fragment_finds_own_stations_properties_in_address_order(client, staff_a, more, rental_b):
    client.force_login(staff_a)
    assert _found(client, "路1号") == ["甲一路1号", "甲二路1号"]
    assert _found(client, "一路") == ["甲一路1号"]  # 乙一路9号 is station B's
    assert _found(client, "乙一路") == []


def test_registration_number_matches_exactly_in_any_case(client, staff_a, rental_a, rental_b):
    client.force_login(staff_a)
    assert _found(client, rental_a.registration_number.lower()) == [rental_a.address]
    assert _found(client, rental_b.registration_number) == []


def test_a_single_character_does_not_match_addresses(client, staff_a, rental_a):
    client.force_login(staff_a)
    assert _found(client, "甲") == []


def test_a_registration_number_that_reads_like_a_mobile_number_is_found(client, staff_a, rental_a):
    # Station 1385's numbers look like mobile numbers once the dash is gone: "13850000042".
    rental_a.registration_number = "1385-0000042"
    rental_a.save(update_fields=["registration_number"])
    client.force_login(staff_a)
    assert _found(client, "1385-0000042") == [rental_a.address]
