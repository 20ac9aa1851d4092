"""Receipts for residents (issue 17, point 3): printed after a registration or for a residence permit, a QR code
to a public check page that says only which station issued the receipt and when."""

import datetime
import io
import subprocess

import pypdfium2 as pdfium
import pytest
import time_machine
from django.urls import reverse
from django.utils import timezone
from PIL import Image  # noqa: F401 - pypdfium2's to_pil needs Pillow

from housing.factories import ResidenceFactory
from housing.models import ResidenceStatusChoices
from patrol.models import Receipt, ReceiptKindChoices, ResidencePermit
from patrol.receipts import residence_registration_number
from registry.factories import make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices


@pytest.fixture(autouse=True)
def _english_and_fresh_cache(client, settings):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "receipt-tests"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def residence_a(rental_a, station_a):
    return ResidenceFactory(unit=rental_a.units.first(), person__name="陈静", person__registered_station=station_a,
                            start_date=timezone.localdate() - datetime.timedelta(days=3))


@pytest.fixture
def residence_b(rental_b, station_b):
    return ResidenceFactory(unit=rental_b.units.first(), person__registered_station=station_b)


@pytest.fixture
def permit_a(residence_a, station_a):
    today = timezone.localdate()
    return ResidencePermit.objects.create(person=residence_a.person, station=station_a, number="JZZ2026000123",
                                          issued_on=today - datetime.timedelta(days=10),
                                          expires_on=today + datetime.timedelta(days=355))


def _print_residence(client, residence):
    return client.post(reverse("patrol:receipt_residence", args=[residence.pk]))


def _pdf_text_and_png(pdf: bytes) -> tuple[str, bytes]:
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    page = document[0]
    width, height = page.get_size()
    assert (round(width), round(height)) == (595, 842)  # A4 in points
    text = page.get_textpage().get_text_range()
    buffer = io.BytesIO()
    page.render(scale=2).to_pil().save(buffer, format="PNG")
    document.close()
    return text, buffer.getvalue()


def _zbar(png: bytes, tmp_path) -> list[str]:
    path = tmp_path / "receipt.png"
    path.write_bytes(png)
    result = subprocess.run(["/usr/bin/zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


def test_printing_a_registration_receipt_makes_an_audited_receipt_and_an_a4_pdf(client, staff_a, residence_a,
                                                                               tmp_path):
    client.force_login(staff_a)
    response = _print_residence(client, residence_a)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert "no-store" in response["Cache-Control"] and "private" in response["Cache-Control"]
    assert response["Content-Disposition"].startswith('attachment; filename="receipt-registration-')
    receipt = Receipt.objects.get()
    assert (receipt.kind, receipt.residence, receipt.station_id, receipt.issued_on, receipt.created_by) == (
        ReceiptKindChoices.REGISTRATION, residence_a, residence_a.station_id, timezone.localdate(), staff_a)
    assert len(receipt.token) == 32

    text, png = _pdf_text_and_png(response.content)
    for shown in (residence_a.person.name, residence_registration_number(residence_a),
                  residence_a.unit.property.address, residence_a.start_date.isoformat(), "甲派出所"):
        assert shown in text
    assert residence_a.person.document_number not in text
    assert _zbar(png, tmp_path) == ["http://testserver" + reverse("receipt_public", args=[receipt.token])]

    event = AuditEvent.objects.get(action=AuditAction.EXPORT, object_type="persons.person",
                                   object_id=str(residence_a.person_id))
    assert event.actor_id == staff_a.pk and event.changes["receipt"] == "registration"
    assert receipt.token not in str(event.changes)


def test_each_print_is_a_new_receipt_with_its_own_token(client, staff_a, residence_a):
    client.force_login(staff_a)
    _print_residence(client, residence_a)
    _print_residence(client, residence_a)
    assert len(set(Receipt.objects.values_list("token", flat=True))) == 2


def test_the_receipt_prints_in_the_readers_language(client, staff_a, residence_a):
    client.force_login(staff_a)
    english, _png = _pdf_text_and_png(_print_residence(client, residence_a).content)
    assert "Registration receipt" in english and "Registration number" in english
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    chinese, _png = _pdf_text_and_png(_print_residence(client, residence_a).content)
    assert "Registration number" not in chinese and "登记" in chinese


def test_public_page_shows_the_station_and_date_and_nothing_personal(client, staff_a, residence_a):
    client.force_login(staff_a)
    _print_residence(client, residence_a)
    receipt = Receipt.objects.get()
    client.logout()
    response = client.get(reverse("receipt_public", args=[receipt.token]))
    assert response.status_code == 200
    body = response.content.decode()
    assert (f"A registration receipt issued by {receipt.station.name} on {receipt.issued_on.isoformat()}."
            in " ".join(body.split()))
    person = residence_a.person
    for private in (person.name, person.phone, person.document_number, person.document_masked,
                    residence_a.unit.property.address, residence_a.unit.label,
                    residence_registration_number(residence_a), residence_a.start_date.isoformat()
                    if residence_a.start_date != receipt.issued_on else "never-shown"):
        assert private not in body, private
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    # Signed in or not, the same page: no redirect to the record.
    client.force_login(staff_a)
    assert client.get(reverse("receipt_public", args=[receipt.token])).status_code == 200


def test_public_page_in_chinese(client, staff_a, residence_a):
    client.force_login(staff_a)
    _print_residence(client, residence_a)
    receipt = Receipt.objects.get()
    client.logout()
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "zh-hans"
    body = " ".join(client.get(reverse("receipt_public", args=[receipt.token])).content.decode().split())
    assert "A registration receipt" not in body and receipt.station.name in body and "登记" in body


@pytest.mark.parametrize("token", ["A" * 32, "short", "B" * 31 + "!"])
def test_unknown_and_malformed_tokens_are_the_same_404(client, residence_a, token):
    response = client.get(f"/r/{token}/")
    assert response.status_code == 404
    assert b"This code does not lead to a receipt" in response.content


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_public_page_is_rate_limited_per_client_address(client, staff_a, residence_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "RECEIPT_RATE_LIMIT": "3/m"}
    client.force_login(staff_a)
    _print_residence(client, residence_a)
    url = reverse("receipt_public", args=[Receipt.objects.get().token])
    client.logout()
    assert [client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(3)] == [200] * 3
    limited = client.get(url, REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429 and b"Too many requests" in limited.content
    assert b"issued by" not in limited.content
    # guessing tokens counts too; another address is not affected
    assert client.get("/r/" + "C" * 32 + "/", REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_permit_receipt_prints_the_permit_and_its_check_page_says_so(client, officer_a, permit_a, tmp_path):
    client.force_login(officer_a)
    response = client.post(reverse("patrol:receipt_permit", args=[permit_a.pk]))
    assert response.status_code == 200 and "no-store" in response["Cache-Control"]
    receipt = Receipt.objects.get()
    assert (receipt.kind, receipt.permit, receipt.residence) == (ReceiptKindChoices.PERMIT, permit_a, None)
    text, png = _pdf_text_and_png(response.content)
    assert permit_a.number in text and permit_a.expires_on.isoformat() in text and permit_a.person.name in text
    assert _zbar(png, tmp_path) == ["http://testserver" + reverse("receipt_public", args=[receipt.token])]
    client.logout()
    body = " ".join(client.get(reverse("receipt_public", args=[receipt.token])).content.decode().split())
    assert "A residence permit receipt issued by" in body
    assert permit_a.number not in body and permit_a.person.name not in body
    # The permits page offers it.
    client.force_login(officer_a)
    page = client.get(reverse("patrol:permit_list"), {"tab": "issued"}).content.decode()
    assert reverse("patrol:receipt_permit", args=[permit_a.pk]) in page


def test_the_person_page_offers_the_receipt_after_registering(client, staff_a, residence_a):
    residence_a.created_by = staff_a
    residence_a.save(update_fields=["created_by"])
    client.force_login(staff_a)
    page = client.get(reverse("persons:person_detail", args=[residence_a.person_id]))
    assert page.context["receipt_offer"] == residence_a
    assert 'id="print-receipt"' in page.content.decode()
    # Much later (or another clerk), the timeline's button but no offer at the top.
    type(residence_a).objects.filter(pk=residence_a.pk).update(
        created_at=timezone.now() - datetime.timedelta(hours=2))
    later = client.get(reverse("persons:person_detail", args=[residence_a.person_id]))
    assert later.context["receipt_offer"] is None
    assert reverse("patrol:receipt_residence", args=[residence_a.pk]) in later.content.decode()


def test_access_cases(client, staff_a, supervisor, residence_a, residence_b):
    url = reverse("patrol:receipt_residence", args=[residence_a.pk])
    assert client.post(url).status_code == 302  # anonymous: to the login page
    client.force_login(staff_a)
    assert client.get(url).status_code == 405  # printing is a POST
    assert client.post(reverse("patrol:receipt_residence", args=[residence_b.pk])).status_code == 404
    client.force_login(supervisor)
    assert client.post(url).status_code == 403
    client.force_login(make_user(RoleChoices.LANDLORD, username="ll"))
    assert client.post(url).status_code == 403
    assert not Receipt.objects.exists()


def test_an_ended_registration_gets_no_receipt(client, staff_a, residence_a):
    residence_a.status = ResidenceStatusChoices.ENDED
    residence_a.end_date = timezone.localdate()
    residence_a.save()
    client.force_login(staff_a)
    response = _print_residence(client, residence_a)
    assert response.status_code == 302 and not Receipt.objects.exists()


def test_printing_needs_csrf(staff_a, residence_a):
    from django.test import Client

    strict = Client(enforce_csrf_checks=True)
    strict.force_login(staff_a)
    assert strict.post(reverse("patrol:receipt_residence", args=[residence_a.pk])).status_code == 403
    assert not Receipt.objects.exists()
