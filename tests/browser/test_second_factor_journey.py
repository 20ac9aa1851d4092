"""The second factor in Chromium, as an officer meets it: enrol an authenticator app, sign in with its code,
then with a recovery code, which then no longer works. The test is the phone: it reads the key the page
shows and computes the codes the app would show."""

import base64
import re
import subprocess

import pytest
from playwright.sync_api import expect

from registry.factories import DistrictFactory, StationFactory, make_user
from registry.roles import RoleChoices

from .conftest import PASSWORD, authenticator_code, tr

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def password_step(page, base: str, username: str) -> None:
    page.goto(f"{base}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def log_out(page) -> None:
    """From the user menu (a Bootstrap dropdown: it opens once the page's deferred scripts have run)."""
    page.wait_for_load_state()
    page.locator(".registry-user").click()
    page.locator(".registry-user-menu").get_by_role("button", name=tr("Log out")).click()
    page.wait_for_url(lambda url: "/accounts/login/" in url)


def test_officer_enrols_an_app_signs_in_with_a_code_then_a_recovery_code_that_then_fails(live_server, web, shot):
    station = StationFactory(district=DistrictFactory(code="D9", name="测试区"), code="S9", name="测试派出所")
    make_user(RoleChoices.OFFICER, username="officer_2fa", station=station)
    base, page = live_server.url, web
    typed: set[int] = set()

    # The password alone leads to enrolment, and nowhere else.
    password_step(page, base, "officer_2fa")
    expect(page).to_have_url(re.compile(r"/account/second-factor/setup/"))
    page.goto(f"{base}/persons/")
    expect(page).to_have_url(re.compile(r"/account/second-factor/setup/"))
    expect(page.locator(".registry-qr svg")).to_be_visible()
    page.locator("summary").click()
    secret = page.locator("#otp-secret").inner_text().replace(" ", "")
    secret_hex = base64.b32decode(secret + "=" * (-len(secret) % 8)).hex()
    scanned = subprocess.run(["zbarimg", "-q", "--raw", shot(page, "01-enrol")], capture_output=True, text=True,
                             check=True).stdout.strip()
    assert scanned.startswith("otpauth://totp/") and f"secret={secret}" in scanned  # the camera sees the same key

    page.fill("input[name=code]", authenticator_code(secret_hex, typed))
    page.get_by_role("button", name=tr("Turn on")).click()
    codes = page.locator("#recovery-codes li")
    expect(codes).to_have_count(10)
    recovery = codes.nth(4).inner_text().strip()
    shot(page, "02-recovery-codes")
    page.get_by_role("link", name=tr("I have kept them: continue")).click()
    expect(page).to_have_url(f"{base}/persons/")  # where the officer was going
    log_out(page)

    # The password, then the app's code.
    password_step(page, base, "officer_2fa")
    expect(page).to_have_url(re.compile(r"/account/verify/"))
    page.fill("input[name=code]", authenticator_code(secret_hex, typed))
    page.get_by_role("button", name=tr("Continue")).click()
    expect(page).to_have_url(f"{base}/")
    shot(page, "03-signed-in-with-code")
    log_out(page)

    # The phone is lost: a recovery code signs in once.
    password_step(page, base, "officer_2fa")
    page.fill("input[name=code]", recovery)
    page.get_by_role("button", name=tr("Continue")).click()
    expect(page).to_have_url(f"{base}/")
    log_out(page)

    password_step(page, base, "officer_2fa")
    page.fill("input[name=code]", recovery)
    page.get_by_role("button", name=tr("Continue")).click()
    expect(page).to_have_url(re.compile(r"/account/verify/"))
    expect(page.locator(".invalid-feedback")).to_be_visible()
    shot(page, "04-used-recovery-code-refused")
    page.goto(f"{base}/persons/")
    expect(page).to_have_url(re.compile(r"/account/verify/"))
