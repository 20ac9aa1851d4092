"""Issue 6, in the browser: a landlord reports arrivals on a phone, the station approves one and rejects another.

Landlord reports an arrival → staff approves → the resident appears on the staff's property page and in the
landlord's portal (masked); a second arrival is rejected and the reason reaches the landlord, with the bell.
The landlord and the staff member each have their own browser context, so their sessions never mix.
"""

import datetime
import re
from dataclasses import dataclass

import pytest
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import Page, expect

from housing.factories import LandlordFactory, PropertyFactory, UnitFactory
from housing.models import Property, Residence, Unit
from persons.identity import make_resident_id
from portal.models import Submission, SubmissionKindChoices, SubmissionStatusChoices
from registry.crypto import mask
from registry.factories import make_user
from registry.roles import RoleChoices

from .conftest import DESKTOP, PASSWORD, PHONE, log_in, no_horizontal_scroll, tr
from .conftest import label as choice_label
from .test_staff_journey import World, build_world

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

LANDLORD_USERNAME = "fangdong"
FIRST_TENANT = "赵春生"
SECOND_TENANT = "钱秋月"
REJECTION_REASON = "身份证照片看不清，请本人带身份证到警务室核对。"


@dataclass
class PortalWorld:
    world: World
    prop: Property
    unit: Unit


def build_portal_world() -> PortalWorld:
    """The staff journey's station A, plus a landlord with a portal account and one flat in 和平社区."""
    world = build_world()
    station = world.old_community.station
    user = make_user(RoleChoices.LANDLORD, username=LANDLORD_USERNAME, password=PASSWORD)
    landlord = LandlordFactory(station=station, user=user, name="周建国")
    prop = PropertyFactory(community=world.old_community, landlord=landlord, address="和平路20号")
    unit = UnitFactory(property=prop, label="301室", capacity=2)
    return PortalWorld(world=world, prop=prop, unit=unit)


def assert_fits_the_screen(page: Page, where: str) -> None:
    fits, scroll_width, inner_width = no_horizontal_scroll(page)
    assert fits, (f"{where}: the page scrolls sideways on a phone "
                  f"(scrollWidth {scroll_width} > innerWidth {inner_width})")


def wrong_check_digit(number: str) -> str:
    last = number[-1]
    return number[:-1] + ("0" if last == "X" else str((int(last) + 1) % 10))


def fill_arrival(page: Page, unit: Unit, *, number: str, name: str, phone: str, moved_in: datetime.date) -> None:
    page.select_option("#id_unit", str(unit.pk))
    expect(page.locator("#id_document_type")).to_have_value("resident_id")  # the default
    page.fill("#id_document_number", number)
    page.fill("#id_name", name)
    page.fill("#id_phone", phone)
    page.fill("#id_date", moved_in.isoformat())
    page.select_option("#id_reason", "work")


def open_arrival_form(page: Page, base: str, prop: Property) -> None:
    """From the portal property page: the big "Report an arrival" button at the top."""
    page.locator("main a.btn").filter(has_text=tr("Report an arrival")).tap()
    page.wait_for_url(f"{base}{reverse('portal:arrival_create', args=[prop.pk])}")
    expect(page.locator("h1")).to_have_text(tr("Report an arrival"))


def send_report(page: Page) -> None:
    page.locator("main form").get_by_role("button", name=tr("Send the report")).tap()


def report_line(page: Page, name: str):
    """One report in "My reports" (its list item), by the tenant's name."""
    return page.locator("main ul.list-group > li").filter(has_text=name)


def test_landlord_reports_arrivals_on_a_phone_and_the_station_approves_and_rejects(live_server, new_page, shot):
    data = build_portal_world()
    world, prop, unit = data.world, data.prop, data.unit
    base = live_server.url
    today = timezone.localdate()
    moved_in = today - datetime.timedelta(days=1)
    first_number = make_resident_id(birth_date=datetime.date(1992, 6, 8), sex="M", region="110101")
    second_number = make_resident_id(birth_date=datetime.date(1999, 1, 23), sex="F", region="110101")
    portal_property_url = f"{base}{reverse('portal:property_detail', args=[prop.pk])}"
    reports_url = f"{base}{reverse('portal:submission_list')}"
    waiting = choice_label(SubmissionStatusChoices.WAITING)
    approved = choice_label(SubmissionStatusChoices.APPROVED)
    rejected = choice_label(SubmissionStatusChoices.REJECTED)
    arrival = choice_label(SubmissionKindChoices.ARRIVAL)

    # 1. The landlord logs in on a phone and lands on their portal: "My properties".
    landlord = new_page(**PHONE)
    log_in(landlord, base, LANDLORD_USERNAME)
    expect(landlord).to_have_url(f"{base}{reverse('portal:home')}")
    expect(landlord.locator("h1")).to_have_text(tr("My properties"))
    card = landlord.locator("main section.card").filter(has_text=prop.address)
    expect(card).to_have_count(1)
    expect(card).to_contain_text(prop.registration_number)
    expect(landlord.locator("main")).not_to_contain_text("建设街8号")  # the station's other properties are not theirs
    expect(landlord.locator(".navbar-toggler")).to_be_visible()
    assert_fits_the_screen(landlord, "portal home")
    shot(landlord, "01-landlord-portal-home")

    card.get_by_role("link", name=prop.address).tap()
    landlord.wait_for_url(portal_property_url)
    expect(landlord.locator("h1")).to_have_text(prop.address)
    units = landlord.locator("section[aria-labelledby=units-heading]")
    expect(units).to_contain_text(unit.label)
    expect(units).to_contain_text(tr("Nobody registered here."))
    for button in ("Report an arrival", "Report a departure", "Confirm occupants"):
        expect(landlord.locator("main a.btn").filter(has_text=tr(button))).to_be_visible()
    assert_fits_the_screen(landlord, "portal property page")
    shot(landlord, "02-landlord-property")

    # The arrival form, first with a typing mistake in the check digit: a Chinese error, nothing sent.
    open_arrival_form(landlord, base, prop)
    assert_fits_the_screen(landlord, "arrival form")
    fill_arrival(landlord, unit, number=wrong_check_digit(first_number), name=FIRST_TENANT,
                 phone="138 0013 8000", moved_in=moved_in)
    shot(landlord, "03-arrival-form-filled-with-a-typo")
    send_report(landlord)
    number_error = landlord.locator("#id_document_number_error")
    expected_error = tr("%(field)s: the last character (check digit) does not match the first 17; "
                        "please check the number for a typing mistake.") % {"field": tr("ID number")}
    expect(number_error).to_have_text(expected_error)
    expect(number_error).to_have_text(re.compile(r"[\u4e00-\u9fff]"))  # in Chinese, not the English msgid
    expect(landlord.locator("#id_document_number")).to_have_class(re.compile(r"\bis-invalid\b"))
    expect(landlord.locator("main .alert-danger")).to_have_text(
        tr("Nothing was sent. Please correct the fields marked below."))
    expect(landlord.locator("#id_name")).to_have_value(FIRST_TENANT)  # what was typed is kept
    assert not Submission.objects.exists()
    assert_fits_the_screen(landlord, "arrival form with an error")
    shot(landlord, "04-arrival-form-check-digit-error")

    landlord.fill("#id_document_number", first_number)
    send_report(landlord)
    landlord.wait_for_url(portal_property_url)
    expect(landlord.locator(".registry-messages .alert-success")).to_contain_text(
        tr("Report sent; the station will review it. You can follow it under “My reports”."))
    first = Submission.objects.get()
    assert (first.status, first.name, first.document_number) == ("waiting", FIRST_TENANT, first_number)
    recent = landlord.locator("section[aria-labelledby=reports-heading]")
    expect(recent).to_contain_text(FIRST_TENANT)
    expect(recent).to_contain_text(waiting)
    assert_fits_the_screen(landlord, "portal property page after sending")
    shot(landlord, "05-arrival-sent")

    # "My reports", through the folded navigation: the report waits for review.
    landlord.locator(".navbar-toggler").tap()
    landlord.locator("#main-nav").get_by_role("link", name=tr("My reports")).tap()
    landlord.wait_for_url(reports_url)
    expect(landlord.locator("h1")).to_have_text(tr("My reports"))
    line = report_line(landlord, FIRST_TENANT)
    expect(line).to_have_count(1)
    expect(line.locator(".badge").first).to_have_text(waiting)
    expect(line).to_contain_text(arrival)
    expect(line).to_contain_text(mask(first_number))
    expect(line.get_by_role("button", name=tr("Withdraw"))).to_be_visible()
    assert first_number not in landlord.content()
    assert_fits_the_screen(landlord, "my reports")
    shot(landlord, "06-my-reports-waiting")

    # 2. A staff member of the same station, at the desk, opens the queue from the home page's card.
    staff = new_page(**DESKTOP)
    log_in(staff, base, world.staff_username)
    expect(staff).to_have_url(f"{base}/")
    review_card = staff.locator("section[aria-labelledby=review-heading]")
    expect(review_card.locator("#review-heading")).to_have_text(tr("Reports waiting for review"))
    shot(staff, "07-staff-home-with-waiting-report")
    review_card.get_by_role("link", name=f"{arrival}: {FIRST_TENANT}").click()
    staff.wait_for_url(f"{base}{reverse('review:queue')}#submission-{first.pk}")
    row = staff.locator(f"#submission-{first.pk}")
    expect(row).to_contain_text(FIRST_TENANT)
    expect(row).to_contain_text(mask(first_number))
    expect(row).to_contain_text(f"{prop.address} {unit.label}")
    expect(row).to_contain_text(tr("New person: no one is registered with this document number yet."))
    expect(staff.get_by_role("button", name=tr("Approve selected"))).to_be_visible()
    shot(staff, "08-review-queue")
    row.get_by_role("button", name=tr("Approve"), exact=True).click()
    expect(staff.locator(".registry-messages .alert-success")).to_contain_text(
        tr("Approved: the registration is updated."))
    expect(staff).to_have_url(f"{base}{reverse('review:queue')}")
    expect(staff.locator(f"#submission-{first.pk}")).to_have_count(0)
    expect(staff.locator("main")).to_contain_text(tr("Nothing waiting for review."))
    shot(staff, "09-review-approved")
    first.refresh_from_db()
    assert first.status == SubmissionStatusChoices.APPROVED
    residence = Residence.objects.select_related("person").get(unit=unit)
    assert (residence.person.name, residence.start_date) == (FIRST_TENANT, moved_in)

    # 3. The staff's property page lists the new resident.
    staff.goto(f"{base}{reverse('housing:property_detail', args=[prop.pk])}")
    staff_units = staff.locator("section[aria-labelledby=units-heading]")
    expect(staff_units.get_by_role("link", name=FIRST_TENANT)).to_have_attribute(
        "href", reverse("persons:person_detail", args=[residence.person.pk]))
    expect(staff_units).to_contain_text(mask(first_number))
    shot(staff, "10-staff-property-page")

    # 4. The landlord's property page: the tenant, with the number masked; the full number is nowhere.
    landlord.goto(portal_property_url)
    units = landlord.locator("section[aria-labelledby=units-heading]")
    tenant = units.locator("ul.list-unstyled > li").filter(has_text=FIRST_TENANT)  # the unit's tenant list
    expect(tenant).to_have_count(1)
    expect(tenant).to_contain_text(mask(first_number))
    expect(tenant).to_contain_text(moved_in.isoformat())
    expect(units).not_to_contain_text(tr("Nobody registered here."))
    assert first_number not in landlord.content()
    expect(landlord.locator("section[aria-labelledby=reports-heading]")).to_contain_text(approved)
    expect(landlord.locator(".registry-bell .badge")).to_have_text("1")  # "approved" is a notification too
    assert_fits_the_screen(landlord, "portal property page with a tenant")
    shot(landlord, "11-landlord-property-with-tenant")

    # 5. A second arrival, which the station rejects with a reason.
    open_arrival_form(landlord, base, prop)
    fill_arrival(landlord, unit, number=second_number, name=SECOND_TENANT, phone="13900139000", moved_in=today)
    send_report(landlord)
    landlord.wait_for_url(portal_property_url)
    expect(landlord.locator(".registry-messages .alert-success")).to_contain_text(
        tr("Report sent; the station will review it. You can follow it under “My reports”."))
    second = Submission.objects.get(name=SECOND_TENANT)
    shot(landlord, "12-second-arrival-sent")

    # This time the staff member is out on a visit, on a phone: the navbar's "Review" link.
    staff_phone = new_page(**PHONE)
    log_in(staff_phone, base, world.staff_username)
    staff_phone.locator(".navbar-toggler").tap()
    staff_phone.locator("#main-nav").get_by_role("link", name=tr("Review"), exact=True).tap()
    staff_phone.wait_for_url(f"{base}{reverse('review:queue')}")
    row = staff_phone.locator(f"#submission-{second.pk}")
    expect(row).to_contain_text(SECOND_TENANT)
    assert_fits_the_screen(staff_phone, "review queue on a phone")
    row.locator("summary").filter(has_text=tr("Reject")).tap()
    reason_box = row.locator(f"#reason-{second.pk}")
    expect(reason_box).to_be_visible()
    expect(row.locator(f"label[for=reason-{second.pk}]")).to_have_text(tr("Reason for rejection"))
    reason_box.fill(REJECTION_REASON)
    assert_fits_the_screen(staff_phone, "review queue with the reject form open")
    shot(staff_phone, "13-staff-phone-reject-form")
    row.get_by_role("button", name=tr("Reject with this reason")).tap()
    expect(staff_phone.locator(".registry-messages .alert-success")).to_contain_text(
        tr("Rejected; the sender sees your reason."))
    expect(staff_phone.locator(f"#submission-{second.pk}")).to_have_count(0)
    shot(staff_phone, "14-staff-phone-rejected")
    second.refresh_from_db()
    assert (second.status, second.rejection_reason) == (SubmissionStatusChoices.REJECTED, REJECTION_REASON)
    assert not Residence.objects.filter(person__name=SECOND_TENANT).exists()

    # The landlord sees the rejection, its reason, and the bell's unread count.
    landlord.goto(reports_url)
    line = report_line(landlord, SECOND_TENANT)
    expect(line.locator(".badge").first).to_have_text(rejected)
    expect(line).to_contain_text(f"{tr('Reason')}: {REJECTION_REASON}")
    expect(line.get_by_role("button", name=tr("Withdraw"))).to_have_count(0)
    expect(report_line(landlord, FIRST_TENANT).locator(".badge").first).to_have_text(approved)
    bell = landlord.locator(".registry-bell")
    expect(bell).to_be_visible()  # outside the folded menu, so a phone shows it at once
    expect(bell.locator(".badge")).to_have_text("2")
    assert second_number not in landlord.content()
    assert_fits_the_screen(landlord, "my reports with a rejection")
    shot(landlord, "15-my-reports-rejected-with-reason")

    bell.tap()
    landlord.wait_for_url(f"{base}{reverse('notifications:list')}")
    expect(landlord.locator("main")).to_contain_text(SECOND_TENANT)
    expect(landlord.locator("main")).to_contain_text(REJECTION_REASON)
    assert_fits_the_screen(landlord, "notifications")
    shot(landlord, "16-landlord-notifications")
