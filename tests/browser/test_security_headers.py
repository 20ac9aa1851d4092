"""Every kind of page under the Content-Security-Policy, in Chromium: staff pages, the portal on a phone, the
API docs, the admin and the pages seen before signing in. Each answers with the strict policy and the
Permissions-Policy, and the page runs with no CSP violation (the ``new_page`` fixture fails a test on any,
through Chromium's console and a ``securitypolicyviolation`` listener)."""

import datetime
import re

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from housing.factories import LandlordFactory, PropertyFactory, ResidenceFactory, UnitFactory
from housing.models import Property
from registry.factories import CommunityFactory, DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices

from .conftest import BROWSER_ERRORS, DESKTOP, PASSWORD, PHONE, log_in, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

STRICT = {
    "default-src": "'self'", "script-src": "'self'", "style-src": "'self'", "img-src": "'self' data:",
    "object-src": "'none'", "base-uri": "'none'", "form-action": "'self'", "frame-ancestors": "'none'",
}


def directives(header: str) -> dict[str, str]:
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: (part[1] if len(part) > 1 else "") for part in parts}


def assert_strict_headers(response, what: str) -> None:
    assert response is not None, what
    headers = response.all_headers()
    policy = directives(headers.get("content-security-policy", ""))
    assert policy == STRICT, f"{what}: {headers.get('content-security-policy')!r}"
    assert "camera=()" in headers.get("permissions-policy", ""), what
    assert "geolocation=()" in headers["permissions-policy"], what


def visit(page, url: str, what: str):
    response = page.goto(url)
    assert response.status < 400, f"{what}: {response.status}"
    assert_strict_headers(response, what)
    page.wait_for_load_state("load")
    return response


@pytest.fixture
def world(db):
    district = DistrictFactory(code="D77", name="安全区")
    station = StationFactory(district=district, code="S77", name="安全派出所")
    community = CommunityFactory(station=station, code="C77", name="安全社区")
    landlord_user = make_user(RoleChoices.LANDLORD, username="landlord_csp")
    landlord = LandlordFactory(station=station, user=landlord_user, name="房东丙")
    prop = PropertyFactory(community=community, landlord=landlord, address="安全路1号")
    unit = UnitFactory(property=prop, label="101室", capacity=3)
    today = timezone.localdate()
    residence = ResidenceFactory(unit=unit, person__name="赵安", person__registered_station=station,
                                 start_date=today - datetime.timedelta(days=40))
    return {
        "station": station, "prop": prop, "unit": unit, "person": residence.person,
        "invitee": LandlordFactory(station=station, name="房东丁"),
        "officer": make_user(RoleChoices.OFFICER, username="officer_csp", station=station),
        "supervisor": make_user(RoleChoices.SUPERVISOR, username="supervisor_csp", district=district),
        "admin": make_user(RoleChoices.ADMIN, username="admin_csp"),
        "newcomer": make_user(RoleChoices.STAFF, username="newcomer_csp", station=station),
    }


def test_the_pages_seen_before_signing_in_have_the_strict_policy(live_server, new_page, world):
    base = live_server.url
    page = new_page(**PHONE)
    visit(page, f"{base}/accounts/login/", "login")
    visit(page, f"{base}/portal/accounts/password-reset/", "portal password reset")
    token = Property.objects.get(pk=world["prop"].pk)
    from housing.plaques import plaque_token_rotate

    plaque_token_rotate(prop=token, actor=world["officer"])
    token.refresh_from_db()
    visit(page, f"{base}/q/{token.plaque_token}/", "plaque landing page")
    visit(page, f"{base}/admin/", "admin, signed out")
    expect(page).to_have_url(re.compile(r"/accounts/login/"))


def test_staff_pages_and_htmx_swaps_run_without_a_violation(live_server, new_page, world, shot):
    base = live_server.url
    page = new_page(**DESKTOP)
    log_in(page, base, "officer_csp")
    prop, person, station = world["prop"], world["person"], world["station"]
    for path in ("/", "/persons/", f"/persons/{person.pk}/", "/persons/register/", "/housing/properties/",
                 f"/housing/properties/{prop.pk}/", "/housing/landlords/", f"/housing/landlords/{prop.landlord_id}/",
                 "/persons/employers/", "/review/", "/review/appeals/", "/patrol/permits/",
                 f"/patrol/properties/{prop.pk}/visit/", f"/patrol/properties/{prop.pk}/inspection/", "/imports/",
                 "/notifications/", "/account/tokens/", "/api/docs/"):
        visit(page, f"{base}{path}", path)
    expect(page.locator(".swagger-ui .opblock").first).to_be_visible()  # Swagger UI ran its start-up script
    shot(page, "01-api-docs")

    # htmx swaps in search results and the registration's pickers: no inline style or script comes with them.
    visit(page, f"{base}/search/", "search")
    page.fill("main input[name=q]", "赵安")
    page.keyboard.press("Enter")
    expect(page.locator("main")).to_contain_text("赵安")

    visit(page, f"{base}/account/sessions/", "sessions")
    shot(page, "02-sessions")
    visit(page, f"{base}/account/second-factor/", "second factor")
    shot(page, "03-second-factor")

    # A portal invitation: its one-time link and the copy button (a script file, the clipboard from 'self').
    visit(page, f"{base}/portal/accounts/landlords/{world['invitee'].pk}/invite/", "invite")
    page.fill("input[name=email]", "ding@example.org")
    page.locator("main form button[type=submit]").click()
    copy = page.locator("[data-copy-target]")
    expect(copy).to_be_visible()
    page.wait_for_load_state()
    copy.click()
    expect(copy).to_have_text(tr("Copied"))
    shot(page, "04-invite-sent")
    assert station  # the world's station holds everything above


def test_enrolment_shows_its_qr_code_under_the_policy(live_server, new_page, world, shot):
    base = live_server.url
    page = new_page(**DESKTOP)
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", "newcomer_csp")
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(re.compile(r"/account/second-factor/setup/"))
    assert_strict_headers(page.reload(), "second-factor setup")
    expect(page.locator(".registry-qr svg")).to_be_visible()
    shot(page, "01-enrolment")


def test_the_supervisor_dashboard_and_the_admin_run_without_a_violation(live_server, new_page, world):
    base = live_server.url
    page = new_page(**DESKTOP)
    log_in(page, base, "supervisor_csp")
    visit(page, f"{base}/dashboard/", "dashboard")

    admin = new_page(**DESKTOP)
    log_in(admin, base, "admin_csp")
    user = world["officer"]
    for path in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{user.pk}/change/", "/admin/registry/auditevent/",
                 "/admin/registry/station/add/", "/patrol/tasks/"):
        visit(admin, f"{base}{path}", path)


def test_the_portal_on_a_phone_runs_without_a_violation(live_server, new_page, world, shot):
    base = live_server.url
    prop = world["prop"]
    page = new_page(**PHONE)
    log_in(page, base, "landlord_csp")
    for path in ("/portal/", f"/portal/properties/{prop.pk}/", f"/portal/properties/{prop.pk}/arrival/",
                 f"/portal/properties/{prop.pk}/departure/", f"/portal/properties/{prop.pk}/confirm/",
                 "/portal/reports/", "/account/second-factor/"):
        visit(page, f"{base}{path}", path)
    page.locator(".navbar-toggler").tap()  # Bootstrap's collapse animates with CSSOM styles, which CSP allows
    expect(page.locator("#main-nav")).to_be_visible()
    shot(page, "01-portal-menu")


def test_a_violation_fails_the_test_and_names_the_directive(live_server, new_page, request):
    """The watch itself: an inline style and an inline script on one of our pages are refused and reported."""
    page = new_page(**DESKTOP)
    page.goto(f"{live_server.url}/accounts/login/")
    page.evaluate("""() => {
        const box = document.createElement('div');
        box.innerHTML = '<p style="color: red">x</p>';
        document.body.append(box);
        const script = document.createElement('script');
        script.textContent = 'window.ranInline = true';
        document.body.append(script);
    }""")
    page.wait_for_timeout(200)  # violations are reported as a task after the refusal
    errors = request.node.stash[BROWSER_ERRORS]
    assert page.evaluate("() => window.ranInline === undefined"), "the inline script did not run"
    assert any("style-src" in error and "CSP violation" in error for error in errors), errors
    assert any("script-src" in error and "CSP violation" in error for error in errors), errors
    errors.clear()  # seen: this test is about them
