"""A new staff member's first day, in the browser: log in, search, register, find, move, deregister, English.

Text the app translates is compared with what its own catalogs say (``tr``/``label``), so the assertions hold
before and after the zh-Hans translations are filled in; data (names, addresses, dates) is compared directly.
"""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.contrib.auth.models import User
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice
from playwright.sync_api import Page, expect

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Property, Residence, ResidenceEndReasonChoices, ResidenceStatusChoices, Unit
from persons.identity import make_resident_id
from persons.models import Person
from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.models import Community
from registry.roles import RoleChoices

from .conftest import authenticator_code, label, log_in, ngettext_zh, tr, trc

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NEW_NAME = "王小明"
NEW_BORN = datetime.date(1995, 3, 14)
NEW_PHONE = "13812345678"


@dataclass
class World:
    today: datetime.date
    staff_username: str
    old_community: Community
    new_community: Community
    old_unit: Unit
    new_unit: Unit
    known: Person
    other_station_person: Person


def build_world() -> World:
    """Station A with two communities, a property in each, one known resident; station B next door."""
    today = timezone.localdate()
    district = DistrictFactory(code="D01", name="东城区")
    station_a = StationFactory(district=district, code="SA", name="甲派出所")
    station_b = StationFactory(district=district, code="SB", name="乙派出所")
    heping = CommunityFactory(station=station_a, code="CA1", name="和平社区")
    jianshe = CommunityFactory(station=station_a, code="CA2", name="建设社区")
    other = CommunityFactory(station=station_b, code="CB1", name="乙一社区")
    old_unit = UnitFactory(property=PropertyFactory(community=heping, address="和平路12号"), label="101室", capacity=2)
    new_unit = UnitFactory(property=PropertyFactory(community=jianshe, address="建设街8号"), label="202室", capacity=3)
    UnitFactory(property=PropertyFactory(community=jianshe, address="建国路3号"), label="1号房", capacity=2)
    known = ResidenceFactory(unit=old_unit, person__name="李秀英", person__registered_station=station_a,
                             start_date=today - datetime.timedelta(days=200),
                             next_verification_due=today + datetime.timedelta(days=3)).person
    elsewhere = ResidenceFactory(
        unit=UnitFactory(property=PropertyFactory(community=other, address="乙街1号"), label="1室"),
        person__name="李秀兰", person__registered_station=station_b).person
    staff = make_user(RoleChoices.STAFF, username="xiaozhang", station=station_a)
    return World(today=today, staff_username=staff.username, old_community=heping, new_community=jianshe,
                 old_unit=old_unit, new_unit=new_unit, known=known, other_station_person=elsewhere)


def choose_place(page: Page, community: Community, unit: Unit, *, filter_text: str = "") -> None:
    """Community → property → unit on the registration's second step, each list loaded by htmx: after each
    choice, waits until the page shows the next list (the lists start empty), then the unit's occupancy.

    Call it once the second step is on screen. Its selects load nothing until htmx has bound them, when the
    page's deferred scripts have run; the form shows (and takes a choice) before that, and a choice made in
    between loads nothing, ever. So first the page finishes loading, as after every ``wait_for_url``."""
    page.wait_for_load_state()
    properties = page.locator("#id_property option[value]:not([value=''])")
    chosen = page.locator(f"#id_property option[value='{unit.property_id}']")
    page.select_option("#id_community", str(community.pk))
    expect(chosen).to_contain_text(unit.property.address)
    if filter_text:  # type-ahead on the address narrows the property list (after a 300 ms pause in typing)
        expect(properties).to_have_count(Property.objects.filter(community=community).count())
        page.locator("#property-filter").press_sequentially(filter_text)
        expect(properties).to_have_count(1)
        expect(chosen).to_contain_text(unit.property.address)
    page.select_option("#id_property", str(unit.property_id))
    expect(page.locator(f"#id_unit option[value='{unit.pk}']")).to_contain_text(unit.label)
    page.select_option("#id_unit", str(unit.pk))
    # Empty until a unit is chosen: the unit list's own request on page load has no unit, and shows nothing.
    expect(page.locator("#occupancy [role=status]")).to_be_visible()


def timeline_entry(page: Page, unit: Unit):
    """The residence in that unit on the person's timeline (entries start with the address; notes may name it)."""
    heading = re.compile(r"^\s*" + re.escape(f"{unit.property.address} {unit.label}"))
    return page.locator("ol.registry-timeline > li").filter(has_text=heading)


def test_new_staff_member_registers_finds_moves_and_deregisters_a_resident(live_server, web, shot):
    world = build_world()
    base = live_server.url
    page = web
    today = world.today.isoformat()
    arrived = world.today - datetime.timedelta(days=10)
    number = make_resident_id(birth_date=NEW_BORN, sex="M")

    # 1. Log in as staff of station A, through the login form.
    page.goto(f"{base}/persons/")
    expect(page).to_have_url(re.compile(r"/accounts/login/\?next=/persons/$"))
    shot(page, "01-login")
    log_in(page, base, world.staff_username)
    expect(page.locator(".registry-user")).to_contain_text(world.staff_username)

    # 2. They land on the home page: verifications due, and the one search box.
    expect(page).to_have_url(f"{base}/")
    expect(page.locator("h1")).to_contain_text(tr("Today"))
    due = page.locator("section[aria-labelledby=due-heading]")
    expect(due.locator("#due-heading")).to_have_text(tr("Verifications due"))
    # By property (issue 17, point 6): the known resident's building, one resident due there.
    expect(due.get_by_role("link", name="和平路12号")).to_be_visible()
    stop = due.locator(f"#home-stop-{world.old_unit.property_id}")
    one_due = ngettext_zh("%(counter)s resident due", "%(counter)s residents due", 1) % {"counter": 1}
    expect(stop).to_contain_text(one_due)
    expect(stop.get_by_role("link", name=tr("Record the visit"))).to_be_visible()
    shot(page, "02-home")
    page.fill("#home-search", world.known.name)
    page.press("#home-search", "Enter")
    page.wait_for_url(re.compile(r"/search/\?k=[\w-]+$"))  # the name is kept in the session, not in the URL
    results = page.locator("#search-results")
    expect(results.get_by_role("link", name=world.known.name)).to_be_visible()
    expect(results).not_to_contain_text(world.other_station_person.name)  # another station's resident
    expect(results).not_to_contain_text(world.known.document_number)  # ID numbers are masked
    shot(page, "03-search-by-name")

    # 3. Register a new resident: document first, then person and place.
    page.locator(".navbar-brand").click()
    page.wait_for_url(f"{base}/")
    page.locator("main a.btn").filter(has_text=tr("Register a resident")).click()  # the button at the top
    page.wait_for_url(f"{base}/persons/register/")
    expect(page.locator("h1")).to_have_text(tr("Register a resident"))
    page.fill("#id_document_number", number)
    shot(page, "04-register-step-1")
    page.locator("#register-form").get_by_role("button", name=tr("Continue")).click()
    expect(page.locator("#id_name")).to_be_visible()
    expect(page.locator("#register-form .card-header")).to_contain_text(number)
    expect(page.locator("#id_sex")).to_have_value("M")  # read from the number
    expect(page.locator("#id_birth_date")).to_have_value(NEW_BORN.isoformat())
    expect(page.locator("#id_start_date")).to_have_value(today)  # defaults to today
    page.fill("#id_name", NEW_NAME)
    page.fill("#id_phone", NEW_PHONE)
    choose_place(page, world.old_community, world.old_unit)
    # 李秀英 already lives there: 1 of 2 places taken, shown before saving.
    expect(page.locator("#occupancy")).to_contain_text(re.compile(r"1\D+2"))
    page.select_option("#id_reason", "work")
    page.fill("#id_start_date", arrived.isoformat())
    shot(page, "05-register-step-2")
    page.locator("#register-form").get_by_role("button", name=tr("Save registration")).click()
    page.wait_for_url(re.compile(r"/persons/\d+/$"))
    person = Person.objects.get(name=NEW_NAME)
    detail_url = f"{base}/persons/{person.pk}/"
    expect(page).to_have_url(detail_url)
    success = page.locator(".registry-messages .alert-success")
    expect(success).to_contain_text(NEW_NAME)
    expect(success).to_contain_text(str(world.old_unit))
    expect(success.get_by_role("link", name=tr("Open the record"))).to_have_attribute("href", f"/persons/{person.pk}/")
    expect(page.locator("h1")).to_have_text(NEW_NAME)
    expect(page.locator("#document-number")).not_to_contain_text(number)  # masked on the detail page too
    first = timeline_entry(page, world.old_unit)
    expect(first).to_have_class(re.compile(r"\bis-current\b"))
    expect(first).to_contain_text(label(ResidenceStatusChoices.ACTIVE))
    expect(first).to_contain_text(f"{arrived.isoformat()} – {trc('end of a period', 'now')}")
    shot(page, "06-registered-detail")

    # 4. Find them by pinyin initials on the residents list, and open the record.
    page.locator("#main-nav").get_by_role("link", name=tr("Residents"), exact=True).click()
    page.wait_for_url(f"{base}/persons/")
    page.fill("#id_q", "wxm")
    page.press("#id_q", "Enter")
    page.wait_for_url(re.compile(r"/persons/\?k=[\w-]+$"))
    found = page.locator("#person-results")
    expect(found.get_by_role("link", name=NEW_NAME)).to_be_visible()
    expect(found).not_to_contain_text(world.known.name)
    shot(page, "07-list-by-pinyin-initials")
    found.get_by_role("link", name=NEW_NAME).click()
    page.wait_for_url(detail_url)
    expect(page.locator("h1")).to_have_text(NEW_NAME)

    # 5. They moved: the same document again shows the known person, "moved here" to another unit.
    page.locator("#main-nav").get_by_role("link", name=tr("Register a resident")).click()
    page.wait_for_url(f"{base}/persons/register/")
    page.fill("#id_document_number", number)
    page.locator("#register-form").get_by_role("button", name=tr("Continue")).click()
    known_card = page.locator("#register-form .card").first
    expect(known_card.get_by_role("link", name=NEW_NAME)).to_have_attribute("href", f"/persons/{person.pk}/")
    expect(known_card.locator(".alert-info")).to_contain_text(str(world.old_unit))
    expect(known_card.locator(".alert-info")).to_contain_text(arrived.isoformat())
    expect(page.locator("#id_name")).to_have_count(0)  # a known person's identity is not typed again
    move_button = page.locator("#register-form").get_by_role("button", name=tr("Save: moved here"))
    expect(move_button).to_be_visible()
    choose_place(page, world.new_community, world.new_unit, filter_text="建设")
    expect(page.locator("#occupancy")).to_contain_text(re.compile(r"0\D+3"))
    expect(page.locator("#id_start_date")).to_have_value(today)
    shot(page, "08-moved-here-form")
    move_button.click()
    page.wait_for_url(detail_url)
    expect(page.locator(".registry-messages .alert-success")).to_contain_text(str(world.new_unit))
    old, new = timeline_entry(page, world.old_unit), timeline_entry(page, world.new_unit)
    expect(old).not_to_have_class(re.compile(r"\bis-current\b"))
    expect(old).to_contain_text(label(ResidenceStatusChoices.ENDED))
    expect(old).to_contain_text(f"{arrived.isoformat()} – {today}")
    expect(new).to_have_class(re.compile(r"\bis-current\b"))
    expect(new).to_contain_text(label(ResidenceStatusChoices.ACTIVE))
    expect(new).to_contain_text(f"{today} – {trc('end of a period', 'now')}")
    shot(page, "09-moved-detail")

    # 6. Deregister: a "Deregister" link on the current residence, a date, and the residence is ended.
    current = Residence.objects.get(person=person, status=ResidenceStatusChoices.ACTIVE)
    deregister = page.locator("ol.registry-timeline a[href$='/end/']")
    expect(deregister).to_have_count(1)  # only the current residence can be ended
    expect(new.locator(f"a[href='/residences/{current.pk}/end/']")).to_have_text(tr("Deregister"))
    deregister.click()
    page.wait_for_url(f"{base}/residences/{current.pk}/end/")
    expect(page.locator("h1")).to_have_text(tr("Deregister: moved out"))
    expect(page.locator("main")).to_contain_text(NEW_NAME)
    expect(page.locator("main")).to_contain_text(str(world.new_unit))
    expect(page.locator("#id_end_date")).to_have_value(today)
    page.fill("#id_end_date", today)
    page.get_by_label(label(ResidenceEndReasonChoices.LEFT_DISTRICT), exact=True).check()  # why: asked (issue 17)
    shot(page, "10-deregister-form")
    page.locator("main form").get_by_role("button", name=tr("Deregister")).click()
    page.wait_for_url(detail_url)
    expect(page.locator(".registry-messages .alert-success")).to_contain_text(NEW_NAME)
    new = timeline_entry(page, world.new_unit)
    expect(new).not_to_have_class(re.compile(r"\bis-current\b"))
    expect(new).to_contain_text(label(ResidenceStatusChoices.ENDED))
    expect(new).to_contain_text(f"{today} – {today}")
    expect(new).to_contain_text(label(ResidenceEndReasonChoices.LEFT_DISTRICT))
    expect(page.locator("ol.registry-timeline li.is-current")).to_have_count(0)
    expect(page.locator("ol.registry-timeline a[href$='/end/']")).to_have_count(0)
    shot(page, "11-deregistered-detail")

    # 7. Switch to English with the language buttons in the user menu, then back.
    page.locator(".registry-user").click()
    page.locator("#main-nav").get_by_role("button", name="English").click()
    expect(page.locator("html")).to_have_attribute("lang", "en")
    expect(page).to_have_url(detail_url)  # stays on the same page
    expect(page.locator("#main-nav").get_by_role("link", name="Residents", exact=True)).to_be_visible()
    expect(page.locator("#residences-heading")).to_have_text("Residences")
    english = page.locator("#main-nav").get_by_role("button", name="English", include_hidden=True)
    expect(english).to_have_attribute("aria-pressed", "true")
    expect(new).to_contain_text("Ended")
    shot(page, "12-english")
    # The user menu is a Bootstrap dropdown: it opens once the re-rendered page's deferred scripts have run.
    page.wait_for_load_state()
    page.locator(".registry-user").click()
    page.locator("#main-nav").get_by_role("button", name="简体中文").click()
    expect(page.locator("html")).to_have_attribute("lang", "zh-hans")
    expect(page).to_have_url(detail_url)
    chinese = page.locator("#main-nav").get_by_role("button", name="简体中文", include_hidden=True)
    expect(chinese).to_have_attribute("aria-pressed", "true")
    expect(page.locator("#main-nav").get_by_role("link", name=tr("Residents"), exact=True)).to_be_visible()
    shot(page, "13-chinese-again")


def test_the_interface_speaks_simplified_chinese_by_default(live_server, web, shot):
    """zh-Hans is the default language: a Chinese browser sees Chinese navigation, not the English msgids."""
    world = build_world()
    log_in(web, live_server.url, world.staff_username)
    expect(web.locator("html")).to_have_attribute("lang", "zh-hans")
    residents = web.locator("#main-nav a[href='/persons/']")
    shot(web, "home")
    expect(residents).to_have_text(re.compile(r"[\u4e00-\u9fff]"))
    expect(web.locator("#due-heading")).to_have_text(re.compile(r"[\u4e00-\u9fff]"))


def test_anonymous_visitor_of_the_residents_list_ends_on_the_login_page(live_server, web, shot):
    world = build_world()
    device = TOTPDevice.objects.create(user=User.objects.get(username=world.staff_username), name="phone")
    web.goto(f"{live_server.url}/persons/")
    expect(web).to_have_url(re.compile(r"/accounts/login/\?next=/persons/$"))
    expect(web.locator("input[name=username]")).to_be_visible()
    expect(web.locator("main")).not_to_contain_text(world.known.name)
    shot(web, "login")
    # Logging in from there returns to the page they asked for.
    web.fill("input[name=username]", world.staff_username)
    web.fill("input[name=password]", "demo-pass-2026")
    web.locator("main form button[type=submit]").click()
    # Then the code of the staff member's authenticator app, and on to the page they asked for.
    web.wait_for_url(re.compile(r"/account/verify/\?next=/persons/$"))
    web.fill("input[name=code]", authenticator_code(device.key, set()))
    web.locator("main form button[type=submit]").first.click()
    web.wait_for_url(f"{live_server.url}/persons/")
    expect(web.locator("#person-results").get_by_role("link", name=world.known.name)).to_be_visible()


def test_the_search_box_finds_a_property_by_its_address(live_server, web, shot):
    """The search page's own help says an address works; the property must be listed and linked."""
    world = build_world()
    log_in(web, live_server.url, world.staff_username)
    web.fill("#home-search", "和平路")
    web.press("#home-search", "Enter")
    web.wait_for_url(re.compile(r"/search/\?k=[\w-]+$"))
    expect(web.locator("h1")).to_have_text(tr("Search"))
    shot(web, "results")
    expect(web.locator("#search-results").get_by_role("link", name="和平路12号")).to_be_visible()

