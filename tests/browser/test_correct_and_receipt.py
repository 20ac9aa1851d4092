"""Issue 17 in the browser: on a phone, a staff member corrects a resident's phone number (a form opened before
that save, in another window, is refused), then prints the resident's receipt; its QR code, decoded with zbar
from the PDF, opens the public check page, which shows no personal data."""

import datetime
import io
import subprocess

import pypdfium2 as pdfium
import pytest
from django.utils import timezone
from playwright.sync_api import expect

from housing.factories import PropertyFactory, ResidenceFactory, UnitFactory
from patrol.models import Receipt
from persons.models import Person
from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices

from .conftest import DESKTOP, PHONE, label, log_in, no_horizontal_scroll, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

OLD_PHONE = "13800001111"
NEW_PHONE = "13912345678"
OTHER_PHONE = "13700002222"


def build_world():
    station = StationFactory(district=DistrictFactory(code="D01", name="东城区"), code="SA", name="甲派出所")
    community = CommunityFactory(station=station, code="CA1", name="和平社区")
    unit = UnitFactory(property=PropertyFactory(community=community, address="和平路12号"), label="101室", capacity=2)
    staff = make_user(RoleChoices.STAFF, username="xiaozhang", station=station)
    residence = ResidenceFactory(unit=unit, person__name="李秀英", person__registered_station=station,
                                 person__phone=OLD_PHONE, person__hukou_address="河南省郑州市",
                                 start_date=timezone.localdate() - datetime.timedelta(days=2), created_by=staff)
    return staff, residence


def decode_qr(pdf: bytes, tmp_path) -> list[str]:
    document = pdfium.PdfDocument(pdf)
    buffer = io.BytesIO()
    document[0].render(scale=2).to_pil().save(buffer, format="PNG")
    document.close()
    path = tmp_path / "receipt.png"
    path.write_bytes(buffer.getvalue())
    scanned = subprocess.run(["/usr/bin/zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True,
                             check=True)
    return scanned.stdout.split()


def test_staff_corrects_a_phone_a_stale_form_is_refused_then_prints_a_receipt_whose_qr_opens_the_check_page(
        live_server, new_page, shot, tmp_path):
    staff, residence = build_world()
    person = residence.person
    base = live_server.url
    phone = new_page(**PHONE)
    desk = new_page(**DESKTOP)  # the same clerk's other window, opened on the same form earlier
    for page in (phone, desk):
        log_in(page, base, staff.username)
        page.goto(f"{base}/persons/{person.pk}/")
        page.locator("#correct-person").click()
        page.wait_for_url(f"{base}/persons/{person.pk}/correct/")
        expect(page.locator("#id_phone")).to_have_value(OLD_PHONE)

    # The phone's form saves first.
    phone.fill("#id_phone", NEW_PHONE)
    phone.fill("#id_reason", "居民来站提供新手机号")
    ok, width, viewport = no_horizontal_scroll(phone)
    assert ok, f"the correction form scrolls sideways on a phone: {width} > {viewport}"
    shot(phone, "01-correct-form-phone")
    phone.locator("main form button[type=submit]").click()
    phone.wait_for_url(f"{base}/persons/{person.pk}/")
    expect(phone.locator(".alert-success")).to_contain_text(
        tr("The details are corrected; the change and its reason are kept in the record's history."))
    history = phone.locator("#history")
    expect(history).to_contain_text("居民来站提供新手机号")
    expect(history).to_contain_text(label(RoleChoices.STAFF))
    expect(history).not_to_contain_text(NEW_PHONE)
    shot(phone, "02-person-after-correction")

    # The desk's form was opened at the old version: refused, with a clear message, and nothing changes.
    desk.fill("#id_phone", OTHER_PHONE)
    desk.fill("#id_reason", "另一次更正")
    desk.locator("main form button[type=submit]").click()
    desk.wait_for_load_state()
    expect(desk.locator("#form-errors")).to_contain_text(
        tr("This record was changed by someone else after you opened it. "
           "Reload it to see their changes, then make yours again."))
    assert desk.url == f"{base}/persons/{person.pk}/correct/"
    shot(desk, "03-stale-form-refused")
    person.refresh_from_db()
    assert (person.phone, person.version) == (NEW_PHONE, 2)
    assert AuditEvent.objects.filter(object_id=str(person.pk), action=AuditAction.UPDATE).count() == 1

    # The receipt: offered at the top of the page of a resident the clerk has just registered.
    offer = phone.locator(".registry-receipt-offer")
    expect(offer).to_contain_text(tr("Hand the resident a receipt"))
    with phone.expect_download() as download:
        phone.locator("#print-receipt").click()
    pdf = (tmp_path / "receipt.pdf")
    download.value.save_as(pdf)
    receipt = Receipt.objects.get()
    urls = decode_qr(pdf.read_bytes(), tmp_path)
    assert len(urls) == 1 and urls[0].endswith(f"/r/{receipt.token}/")

    # Anyone scanning it (a fresh phone, not signed in) sees who issued it and when, nothing personal.
    scanner = new_page(**PHONE)
    scanner.goto(urls[0].replace("http://testserver", base))
    heading = scanner.locator("#receipt-heading")
    expect(heading).to_contain_text("甲派出所")
    expect(heading).to_contain_text(receipt.issued_on.isoformat())
    body = scanner.locator("body").inner_text()
    for private in (person.name, NEW_PHONE, OLD_PHONE, person.document_number, person.document_masked,
                    "和平路12号", "101室", "河南省郑州市"):
        assert private not in body, private
    ok, width, viewport = no_horizontal_scroll(scanner)
    assert ok, f"the check page scrolls sideways on a phone: {width} > {viewport}"
    shot(scanner, "04-receipt-check-page")
    assert Person.objects.get(pk=person.pk).phone == NEW_PHONE
