"""QR plaques: the printed PDF and PNG, the public page behind the code, who lands where, rotation, limits."""

import datetime
import io
import re
import subprocess

import pypdfium2 as pdfium
import pytest
import time_machine
from django.urls import NoReverseMatch, reverse
from PIL import Image

from housing.factories import ResidenceFactory
from housing.models import Property
from housing.plaques import plaque_token_ensure, plaque_token_rotate
from patrol.models import Inspection, PropertyRating, Visit
from registry.factories import make_user
from registry.models import AuditEvent
from registry.roles import RoleChoices


@pytest.fixture(autouse=True)
def _english_and_fresh_cache(client, settings):
    # The product defaults to Chinese; these tests read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "plaque-tests"}}
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()


def _plaque(client, prop, fmt):
    return client.get(reverse("housing:property_plaque", args=[prop.pk]), {"format": fmt})


def _public_url(prop):
    prop.refresh_from_db()
    return reverse("plaque_public", args=[prop.plaque_token])


def _zbar(png: bytes, tmp_path) -> list[str]:
    path = tmp_path / "qr.png"
    path.write_bytes(png)
    result = subprocess.run(["/usr/bin/zbarimg", "--raw", "-q", str(path)], capture_output=True, text=True,
                            check=True)
    return result.stdout.split()


def _pdf_page(pdf: bytes):
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 1
    return document, document[0]


# ---- the printed plaque --------------------------------------------------------------------------


def test_pdf_plaque_qr_decodes_to_the_public_url_and_prints_address_and_number(client, staff_a, rental_a,
                                                                                tmp_path):
    client.force_login(staff_a)
    response = _plaque(client, rental_a, "pdf")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"] == f'attachment; filename="plaque-{rental_a.registration_number}.pdf"'

    document, page = _pdf_page(response.content)
    text = page.get_textpage().get_text_range()
    assert rental_a.address in text
    assert rental_a.registration_number in text
    bitmap = page.render(scale=2).to_pil()
    buffer = io.BytesIO()
    bitmap.save(buffer, format="PNG")
    document.close()

    assert _zbar(buffer.getvalue(), tmp_path) == ["http://testserver" + _public_url(rental_a)]


def test_png_plaque_qr_decodes_to_the_public_url(client, staff_a, rental_a, tmp_path):
    client.force_login(staff_a)
    response = _plaque(client, rental_a, "png")
    assert response.status_code == 200
    assert response["Content-Type"] == "image/png"
    assert rental_a.registration_number in response["Content-Disposition"]
    assert Image.open(io.BytesIO(response.content)).size == (1240, 1748)
    assert _zbar(response.content, tmp_path) == ["http://testserver" + _public_url(rental_a)]


def test_printing_twice_keeps_one_token_and_token_is_unguessable(client, staff_a, rental_a):
    assert rental_a.plaque_token is None  # created lazily: no backfill for bulk-created properties
    client.force_login(staff_a)
    _plaque(client, rental_a, "png")
    rental_a.refresh_from_db()
    first = rental_a.plaque_token
    _plaque(client, rental_a, "pdf")
    rental_a.refresh_from_db()
    assert rental_a.plaque_token == first
    assert re.fullmatch(r"[A-Za-z0-9_-]{32}", first)


def test_token_ensure_on_a_stale_instance_agrees_with_the_winner(rental_a):
    stale = Property.objects.get(pk=rental_a.pk)
    winner = plaque_token_ensure(prop=rental_a)
    assert stale.plaque_token is None
    assert plaque_token_ensure(prop=stale) == winner
    assert Property.objects.filter(plaque_token=winner).count() == 1


def test_unknown_format_is_404(client, staff_a, rental_a):
    client.force_login(staff_a)
    assert _plaque(client, rental_a, "svg").status_code == 404


# ---- the public page -----------------------------------------------------------------------------


def test_public_page_shows_address_registered_stars_and_last_check_but_no_people(client, rental_a):
    unit = rental_a.units.get(label="101室")
    residences = [ResidenceFactory(unit=unit), ResidenceFactory(unit=unit),
                  ResidenceFactory(unit=rental_a.units.get(label="102室"))]
    PropertyRating.objects.create(property=rental_a, computed_at="2026-05-01T00:00Z", run="t", stars=4, total=80,
                                  current_residents=3)
    Visit.objects.create(property=rental_a, visited_on=datetime.date(2026, 3, 2))
    Inspection.objects.create(property=rental_a, inspected_on=datetime.date(2026, 4, 9), fire_extinguishers=True,
                              escape_routes=True, wiring=True, partitions=True, gas=True)
    plaque_token_ensure(prop=rental_a)

    response = client.get(_public_url(rental_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert rental_a.address in body
    assert "Registered" in body
    assert "★★★★☆" in body and "4 of 5 stars" in body
    assert "2026-04-09" in body  # the later of the visit and the inspection
    assert "2026-03-02" not in body
    for residence in residences:
        person = residence.person
        assert person.name not in body
        assert person.document_number not in body
    assert rental_a.landlord.name not in body
    assert "101室" not in body and "102室" not in body
    # no count of people: the visible text holds no number beyond the address, the date and the stars
    text = re.sub(r"<[^>]*>", " ", body).replace(rental_a.address, " ")
    assert re.findall(r"\d+", text) == ["4", "5", "2026", "04", "09"]
    assert f"/{rental_a.pk}/" not in body
    assert "no-store" in response["Cache-Control"]
    assert response["Referrer-Policy"] == "no-referrer"
    assert "Set-Cookie" not in response.headers


def test_public_page_of_unrated_and_unchecked_property(client, rental_a):
    plaque_token_ensure(prop=rental_a)
    body = client.get(_public_url(rental_a)).content.decode()
    assert "Not yet rated" in body
    assert "Not checked yet" in body
    assert "★" not in body


def test_public_page_is_in_chinese_by_default(client, rental_a):
    plaque_token_ensure(prop=rental_a)
    client.defaults.pop("HTTP_ACCEPT_LANGUAGE")
    body = client.get(_public_url(rental_a)).content.decode()
    assert "已登记" in body and "出租房屋登记" in body


def test_unknown_malformed_and_rotated_tokens_answer_the_same_404(client, rental_a, officer_a):
    old = plaque_token_ensure(prop=rental_a)
    plaque_token_rotate(prop=rental_a, actor=officer_a)
    answers = [client.get(reverse("plaque_public", args=[token]))
               for token in ("A" * 32, "not-a-token", "x" * 64 + "!", old)]
    assert [answer.status_code for answer in answers] == [404, 404, 404, 404]
    bodies = {answer.content for answer in answers}
    assert len(bodies) == 1
    assert b"Not found" in bodies.pop()
    assert client.get(reverse("plaque_public", args=[rental_a.plaque_token])).status_code == 200


# The clock stands still so that the limit's one-minute window cannot roll over in the middle of a test.
@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_public_page_is_rate_limited_per_client_address(client, rental_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "PLAQUE_RATE_LIMIT": "5/m"}
    plaque_token_ensure(prop=rental_a)
    url = _public_url(rental_a)
    first = [client.get(url, REMOTE_ADDR="203.0.113.7").status_code for _ in range(5)]
    assert first == [200] * 5
    limited = client.get(url, REMOTE_ADDR="203.0.113.7")
    assert limited.status_code == 429
    assert b"Too many requests" in limited.content
    assert rental_a.address.encode() not in limited.content
    # guessing tokens counts too, and another address is not affected
    assert client.get(reverse("plaque_public", args=["B" * 32]), REMOTE_ADDR="203.0.113.7").status_code == 429
    assert client.get(url, REMOTE_ADDR="198.51.100.2").status_code == 200


def test_rate_limit_window_ends(client, rental_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "PLAQUE_RATE_LIMIT": "2/m"}
    plaque_token_ensure(prop=rental_a)
    url = _public_url(rental_a)
    with time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0, tzinfo=datetime.UTC), tick=False) as clock:
        assert [client.get(url).status_code for _ in range(3)] == [200, 200, 429]
        clock.shift(datetime.timedelta(seconds=61))
        assert client.get(url).status_code == 200


@time_machine.travel(datetime.datetime(2026, 6, 1, 10, 0, tzinfo=datetime.UTC), tick=False)
def test_default_rate_limit_is_30_a_minute(client, rental_a):
    plaque_token_ensure(prop=rental_a)
    url = _public_url(rental_a)
    assert {client.get(url).status_code for _ in range(30)} == {200}
    assert client.get(url).status_code == 429


# ---- who lands where --------------------------------------------------------------------------------


def test_station_staff_scanning_lands_on_property_page_with_visit_call_to_action(client, staff_a, rental_a):
    plaque_token_ensure(prop=rental_a)
    client.force_login(staff_a)
    response = client.get(_public_url(rental_a))
    assert response.status_code == 302
    assert response["Location"] == reverse("housing:property_detail", args=[rental_a.pk]) + "?from=plaque"
    page = client.get(response["Location"]).content.decode()
    assert 'id="plaque-visit"' in page
    assert reverse("patrol:visit_create", args=[rental_a.pk]) in page


def test_property_page_without_plaque_scan_has_no_scan_banner(client, staff_a, rental_a):
    client.force_login(staff_a)
    page = client.get(reverse("housing:property_detail", args=[rental_a.pk])).content.decode()
    assert 'id="plaque-visit"' not in page
    assert reverse("housing:property_plaque", args=[rental_a.pk]) + "?format=pdf" in page
    assert reverse("housing:property_plaque", args=[rental_a.pk]) + "?format=png" in page


def test_landlord_owner_scanning_lands_on_the_portal(client, landlord_a, rental_a):
    plaque_token_ensure(prop=rental_a)
    client.force_login(landlord_a.user)
    response = client.get(_public_url(rental_a))
    assert response.status_code == 302
    # The portal's property page is being built alongside; until it exists the portal home stands in.
    try:
        expected = reverse("portal:property_detail", args=[rental_a.pk])
    except NoReverseMatch:
        expected = reverse("portal:home")
    assert response["Location"] == expected
    assert response["Location"].startswith("/portal/")


@pytest.mark.parametrize("who", ["staff_b", "landlord_b", "anonymous"])
def test_outsiders_see_the_public_page_and_no_link_to_the_record(client, request, rental_a, rental_b, who):
    plaque_token_ensure(prop=rental_a)
    if who == "staff_b":
        client.force_login(request.getfixturevalue("staff_b"))
    elif who == "landlord_b":
        client.force_login(rental_b.landlord.user)
    response = client.get(_public_url(rental_a))
    assert response.status_code == 200
    body = response.content.decode()
    assert rental_a.address in body
    assert f"/{rental_a.pk}/" not in body
    assert "/housing/" not in body and "/portal/" not in body


# ---- staff views: access ------------------------------------------------------------------------


def test_anonymous_is_sent_to_login_from_plaque_views(client, rental_a):
    for response in (_plaque(client, rental_a, "pdf"),
                     client.post(reverse("housing:property_plaque_rotate", args=[rental_a.pk]))):
        assert response.status_code == 302 and reverse("login") in response["Location"]


def test_other_station_staff_gets_404_for_plaque_and_rotate(client, staff_b, rental_a):
    plaque_token_ensure(prop=rental_a)
    token = rental_a.plaque_token
    client.force_login(staff_b)
    assert _plaque(client, rental_a, "pdf").status_code == 404
    assert client.post(reverse("housing:property_plaque_rotate", args=[rental_a.pk])).status_code == 404
    rental_a.refresh_from_db()
    assert rental_a.plaque_token == token


def test_landlord_cannot_use_staff_plaque_views_even_for_own_property(client, landlord_a, rental_a):
    client.force_login(landlord_a.user)
    assert _plaque(client, rental_a, "pdf").status_code in (403, 404)
    assert client.post(reverse("housing:property_plaque_rotate", args=[rental_a.pk])).status_code in (403, 404)
    rental_a.refresh_from_db()
    assert rental_a.plaque_token is None


def test_supervisor_may_print_but_not_rotate(client, supervisor, rental_a):
    client.force_login(supervisor)
    assert _plaque(client, rental_a, "png").status_code == 200
    rental_a.refresh_from_db()
    token = rental_a.plaque_token
    assert client.post(reverse("housing:property_plaque_rotate", args=[rental_a.pk])).status_code == 403
    rental_a.refresh_from_db()
    assert rental_a.plaque_token == token


def test_rotate_is_post_only(client, officer_a, rental_a):
    client.force_login(officer_a)
    assert client.get(reverse("housing:property_plaque_rotate", args=[rental_a.pk])).status_code == 405


# ---- rotation -----------------------------------------------------------------------------------


@pytest.mark.parametrize("role", [RoleChoices.OFFICER, RoleChoices.STAFF])
def test_rotation_retires_the_old_plaque_and_is_audited(client, station_a, rental_a, role):
    user = make_user(role, username=f"rotator_{role}", station=station_a)
    old = plaque_token_ensure(prop=rental_a)
    old_url = _public_url(rental_a)
    client.force_login(user)

    response = client.post(reverse("housing:property_plaque_rotate", args=[rental_a.pk]), follow=True)
    assert response.redirect_chain[-1][0] == reverse("housing:property_detail", args=[rental_a.pk])
    assert "New QR code made" in response.content.decode()

    rental_a.refresh_from_db()
    assert rental_a.plaque_token != old
    assert rental_a.plaque_token_rotated_at is not None
    client.logout()
    assert client.get(old_url).status_code == 404
    assert client.get(_public_url(rental_a)).status_code == 200

    event = AuditEvent.objects.get(object_type="housing.property", object_id=str(rental_a.pk),
                                   changes__plaque_token=["", "rotated"])
    assert event.action == "update" and event.actor_id == user.pk and event.station_id == rental_a.station_id
    # the trail says that the token changed, never what it is
    assert not AuditEvent.objects.filter(changes__icontains=old).exists()
    assert not AuditEvent.objects.filter(changes__icontains=rental_a.plaque_token).exists()


def test_rotated_token_is_not_revived_by_saving_a_stale_instance(rental_a, officer_a):
    plaque_token_ensure(prop=rental_a)
    stale = Property.objects.get(pk=rental_a.pk)
    plaque_token_rotate(prop=rental_a, actor=officer_a)
    stale.address = "甲一路1号之一"
    stale.save(update_fields=["address"])
    assert Property.objects.get(pk=rental_a.pk).plaque_token == rental_a.plaque_token


def test_property_page_offers_rotation_only_with_change_permission_and_a_printed_plaque(client, officer_a,
                                                                                       supervisor, rental_a):
    rotate = reverse("housing:property_plaque_rotate", args=[rental_a.pk])
    detail = reverse("housing:property_detail", args=[rental_a.pk])
    client.force_login(officer_a)
    assert rotate not in client.get(detail).content.decode()  # nothing printed yet: nothing to retire
    plaque_token_ensure(prop=rental_a)
    page = client.get(detail).content.decode()
    assert rotate in page and "old plaques stop working" in page
    client.force_login(supervisor)
    page = client.get(detail).content.decode()
    assert rotate not in page
    assert reverse("housing:property_plaque", args=[rental_a.pk]) in page
