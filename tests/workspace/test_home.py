import datetime

import pytest
from django.urls import reverse

from housing.factories import LandlordFactory, ResidenceFactory, UnitFactory
from registry.factories import make_user
from registry.roles import RoleChoices

TODAY = datetime.date.today()


def test_home_lists_due_verifications_of_own_station_only(client, staff_a, community_a, community_b):
    due = ResidenceFactory(unit__property__community=community_a, next_verification_due=TODAY)
    ResidenceFactory(unit__property__community=community_a, next_verification_due=TODAY + datetime.timedelta(days=60))
    ResidenceFactory(unit__property__community=community_b, next_verification_due=TODAY)
    client.force_login(staff_a)
    response = client.get(reverse("home"))
    # By property (issue 17, point 6): the one property of station A with a resident due this week.
    stops = [stop for community in response.context["route"] for stop in community.stops]
    assert [(stop.property_id, stop.due) for stop in stops] == [(due.unit.property_id, 1)]
    assert response.context["due_count"] == 1


def test_landlord_home_shows_own_tenants_masked_and_nobody_elses(client, community_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    mine = LandlordFactory(station=community_a.station, user=user)
    tenant = ResidenceFactory(unit=UnitFactory(property__community=community_a, property__landlord=mine))
    stranger = ResidenceFactory(unit__property__community=community_a)
    client.force_login(user)
    response = client.get(reverse("home"), follow=True)
    assert response.redirect_chain == [(reverse("portal:home"), 302)]
    assert stranger.unit.property.address not in response.content.decode()
    body = client.get(reverse("portal:property_detail", args=[tenant.unit.property_id])).content.decode()
    assert tenant.person.name in body and tenant.person.document_masked in body
    assert tenant.person.document_number not in body
    assert stranger.person.name not in body and stranger.unit.property.address not in body


@pytest.mark.parametrize("url", ["search", "persons:person_list", "housing:property_list"])
def test_landlord_gets_403_on_staff_pages(client, db, url):
    client.force_login(make_user(RoleChoices.LANDLORD, username="ll"))
    assert client.get(reverse(url)).status_code == 403
