"""Issue 17, point 1, in the browser: a guesthouse operator checks two guests in and one out on a phone; the
station sees them in its ledger, and another station does not."""

import datetime

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from housing.factories import LandlordFactory, PropertyFactory, UnitFactory
from lodging.models import Stay
from persons.identity import make_resident_id
from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices

from .conftest import DESKTOP, PASSWORD, PHONE, log_in, no_horizontal_scroll, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

GUESTS = [("王晓明", "201"), ("陈丽", "202")]


def test_an_operator_checks_guests_in_and_out_on_a_phone_and_the_station_sees_them(live_server, new_page, shot):
    district = DistrictFactory()
    station, other = StationFactory(district=district, name="城东派出所"), StationFactory(district=district)
    community = CommunityFactory(station=station)
    operator = make_user(RoleChoices.LANDLORD, username="laoban", password=PASSWORD)
    owner = LandlordFactory(station=station, user=operator, name="刘老板")
    lodging = PropertyFactory(property_type="guesthouse", landlord=owner, community=community,
                              address="春风路5号 春风招待所")
    for room, _name in GUESTS:
        UnitFactory(property=lodging, label=room, capacity=2)
    make_user(RoleChoices.STAFF, username="desk_a", station=station, password=PASSWORD)
    make_user(RoleChoices.STAFF, username="desk_b", station=other, password=PASSWORD)
    numbers = [make_resident_id(birth_date=datetime.date(1990 + n, 3, 4), sex="M", region="110101") for n in range(2)]
    base = live_server.url

    # The operator, on a phone: My properties → the guesthouse's register → check a guest in, twice.
    phone = new_page(**PHONE)
    log_in(phone, base, "laoban")
    phone.goto(f"{base}{reverse('portal:home')}")
    phone.get_by_role("link", name="春风路5号 春风招待所").tap()
    phone.wait_for_url(f"{base}{reverse('lodging_portal:register', args=[lodging.pk])}")
    for (name, room), number in zip(GUESTS, numbers, strict=True):
        phone.get_by_role("link", name=tr("Check a guest in")).tap()
        phone.wait_for_url(f"{base}{reverse('lodging_portal:check_in', args=[lodging.pk])}")
        phone.fill("#id_document_number", number)
        phone.fill("#id_name", name)
        phone.fill("#id_room", room)
        phone.fill("#id_nights", "2")
        if room == "201":
            assert no_horizontal_scroll(phone)[0], "the check-in form scrolls sideways on a phone"
            shot(phone, "01-operator-check-in")
        phone.locator("main form").get_by_role("button", name=tr("Check in"), exact=True).tap()
        phone.wait_for_url(f"{base}{reverse('lodging_portal:register', args=[lodging.pk])}")
        expect(phone.locator(".registry-messages .alert-success")).to_contain_text(name)
    expect(phone.locator("#staying-count")).to_have_text("2")
    # One tap checks the first guest out.
    first = Stay.objects.get(name=GUESTS[0][0])
    phone.locator(f"form[action$='/stays/{first.pk}/check-out/'] button").tap()
    expect(phone.locator(".registry-messages .alert-success")).to_contain_text(GUESTS[0][0])
    expect(phone.locator("#staying-count")).to_have_text("1")
    assert no_horizontal_scroll(phone)[0], "the guest register scrolls sideways on a phone"
    shot(phone, "02-operator-register")
    assert numbers[1] not in phone.content()  # masked, even for the operator who typed it

    # Station A's desk sees both stays, one in now; station B's sees none.
    desk = new_page(**DESKTOP)
    log_in(desk, base, "desk_a")
    desk.goto(f"{base}{reverse('lodging:ledger')}")
    rows = desk.locator("#stay-results tbody tr")
    expect(rows).to_have_count(2)
    expect(rows.filter(has_text=GUESTS[1][0])).to_contain_text(tr("in now"))
    desk.select_option("#id_status", "in")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text(GUESTS[1][0])
    shot(desk, "03-station-ledger")
    other_desk = new_page(**DESKTOP)
    log_in(other_desk, base, "desk_b")
    other_desk.goto(f"{base}{reverse('lodging:ledger')}")
    expect(other_desk.locator("#stay-results tbody tr")).to_have_count(0)
    for name, _room in GUESTS:
        assert name not in other_desk.content()
