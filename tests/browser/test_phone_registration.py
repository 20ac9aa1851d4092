"""Registration on a phone: the same guided flow at 375×812, touch, with no sideways scrolling."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from persons.identity import make_resident_id
from persons.models import Person

from .conftest import PHONE, log_in, no_horizontal_scroll, tr
from .test_staff_journey import build_world, choose_place

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def assert_fits_the_screen(page, where: str) -> None:
    fits, scroll_width, inner_width = no_horizontal_scroll(page)
    assert fits, (f"{where}: the page scrolls sideways on a phone "
                  f"(scrollWidth {scroll_width} > innerWidth {inner_width})")


def test_staff_member_registers_a_resident_on_a_phone(live_server, new_page, shot):
    world = build_world()
    base = live_server.url
    page = new_page(**PHONE)
    number = make_resident_id(birth_date=datetime.date(1988, 11, 2), sex="F")
    today = timezone.localdate().isoformat()

    log_in(page, base, world.staff_username)
    expect(page).to_have_url(f"{base}/")
    toggler = page.locator(".navbar-toggler")
    expect(toggler).to_be_visible()  # the navigation folds behind the toggler on a phone
    nav_register = page.locator("#main-nav").get_by_role("link", name=tr("Register a resident"))
    expect(nav_register).to_be_hidden()
    due = page.locator("section[aria-labelledby=due-heading]")
    expect(due.get_by_role("link", name="和平路12号")).to_be_visible()  # the known resident's building
    shot(page, "01-home")
    toggler.tap()
    expect(nav_register).to_be_visible()
    shot(page, "02-menu-open")
    nav_register.tap()
    page.wait_for_url(f"{base}/persons/register/")

    # Step 1: the document.
    expect(page.locator("h1")).to_have_text(tr("Register a resident"))
    expect(toggler).to_be_visible()
    page.locator("#id_document_number").tap()
    page.fill("#id_document_number", number)
    assert_fits_the_screen(page, "register, step 1")
    shot(page, "03-register-step-1")
    page.locator("#register-form").get_by_role("button", name=tr("Continue")).tap()

    # Step 2: person and place.
    expect(page.locator("#id_name")).to_be_visible()
    expect(page.locator("#id_sex")).to_have_value("F")
    expect(page.locator("#id_birth_date")).to_have_value("1988-11-02")
    expect(page.locator("#id_start_date")).to_have_value(today)
    page.fill("#id_name", "阿依古丽·买买提")
    page.fill("#id_phone", "139 1234 5678")
    choose_place(page, world.old_community, world.old_unit)
    expect(page.locator("#occupancy")).to_contain_text(re.compile(r"1\D+2"))
    page.select_option("#id_reason", "family")
    assert_fits_the_screen(page, "register, step 2 with the place chosen")
    shot(page, "04-register-step-2")
    page.locator("#register-form").get_by_role("button", name=tr("Save registration")).tap()

    page.wait_for_url(re.compile(r"/persons/\d+/$"))
    person = Person.objects.get(name="阿依古丽·买买提")
    expect(page).to_have_url(f"{base}/persons/{person.pk}/")
    success = page.locator(".registry-messages .alert-success")
    expect(success).to_contain_text("阿依古丽·买买提")
    expect(success).to_contain_text(str(world.old_unit))
    expect(page.locator("h1")).to_have_text("阿依古丽·买买提")
    expect(page.locator("main")).to_contain_text("13912345678")  # stored normalised
    shot(page, "05-registered")
