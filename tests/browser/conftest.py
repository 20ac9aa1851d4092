"""Playwright (sync API) against Django's live server, driving Debian's Chromium.

The fixtures here are named so that they do not collide with pytest-playwright's (``browser``, ``page``,
``context``...), which would try to launch a bundled browser that cannot be downloaded here:
``pw`` (Playwright), ``chromium_browser`` (one Chromium for the session), ``new_page`` (a page factory
for any viewport), ``web`` (a desktop page) and ``shot`` (a full-page screenshot into ``screenshots/``).

Every page records console errors and uncaught page errors; a test that caused any fails, listing them. Content
Security Policy violations are among them: Chromium logs each as a console error ("Refused to ..."), and a
``securitypolicyviolation`` listener in every page reports the directive and what was blocked as well.
"""

import os
import re
from pathlib import Path

import pytest
from django.utils import translation

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse ORM calls
# made from the test body (factories, checks) as "async unsafe".
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "screenshots"
DESKTOP = {"viewport": {"width": 1280, "height": 900}}
PHONE = {"viewport": {"width": 375, "height": 812}, "is_mobile": True, "has_touch": True,
         "device_scale_factor": 2}
# A station's computer in China: the browser asks for Chinese, the clock is Beijing time.
CONTEXT_DEFAULTS = {"locale": "zh-CN", "timezone_id": "Asia/Shanghai"}
DEFAULT_TIMEOUT_MS = 10_000
# Runs in every page and frame before the page's own scripts (as an init script, the CSP does not apply to it).
REPORT_CSP_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (event) => {
  console.error(`CSP violation: ${event.effectiveDirective} blocked ${event.blockedURI || "inline"}`
                + ` in ${event.sourceFile || event.documentURI}:${event.lineNumber}`);
});
"""
PASSWORD = "demo-pass-2026"

BROWSER_ERRORS = pytest.StashKey[list]()
OPEN_PAGES = pytest.StashKey[list]()
_REPORTED = pytest.StashKey[int]()


def tr(message: str, language: str = "zh-hans") -> str:
    """What the app shows for ``message`` in ``language``, from its own catalogs (English if none)."""
    with translation.override(language):
        return str(translation.gettext(message))


def ngettext_zh(singular: str, plural: str, count: int, language: str = "zh-hans") -> str:
    """``tr`` for a message with a plural (``ngettext``)."""
    with translation.override(language):
        return str(translation.ngettext(singular, plural, count))


def trc(context: str, message: str, language: str = "zh-hans") -> str:
    """``tr`` for a message with a translation context (``pgettext``)."""
    with translation.override(language):
        return str(translation.pgettext(context, message))


def label(choice, language: str = "zh-hans") -> str:
    """A model choice's label (a lazy string) as shown in ``language``."""
    with translation.override(language):
        return str(choice.label)


@pytest.fixture(scope="session")
def pw():
    if not os.path.exists(CHROMIUM):
        reason = f"{CHROMIUM} is missing: install Debian's chromium package (apt-get install chromium)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


@pytest.fixture(scope="session")
def chromium_browser(pw):
    browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


def _test_slug(item) -> str:
    return re.sub(r"[^\w.-]+", "_", item.name).strip("_")


def _describe(errors: list[str]) -> str:
    return "JavaScript errors in the browser:\n" + "\n".join(f"  - {e}" for e in errors)


@pytest.fixture
def new_page(chromium_browser, request):
    """``new_page(**context_options)``: a fresh browser context (own cookies) and page, watched for errors."""
    errors: list[str] = []
    request.node.stash[BROWSER_ERRORS] = errors
    request.node.stash[OPEN_PAGES] = pages = []
    for stale in SCREENSHOTS.glob(f"{_test_slug(request.node)}-FAILED*.png"):
        stale.unlink()  # from an earlier run of this test
    contexts = []

    def make(**options):
        context = chromium_browser.new_context(**{**CONTEXT_DEFAULTS, **options})
        context.add_init_script(REPORT_CSP_VIOLATIONS)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(DEFAULT_TIMEOUT_MS)
        pages.append(page)

        def on_console(message):
            if message.type == "error":
                where = message.location.get("url", "") if message.location else ""
                errors.append(f"console error: {message.text}" + (f" ({where})" if where else "") +
                              f" on {page.url}")

        page.on("console", on_console)
        page.on("pageerror", lambda exc: errors.append(f"page error: {exc} on {page.url}"))
        return page

    yield make
    reported = len(errors)
    for context in contexts:
        context.close()
    late = errors[request.node.stash.get(_REPORTED, reported):]
    if late:
        pytest.fail(_describe(late), pytrace=False)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item):
    """Fail the test itself (not only its teardown) when the browser logged errors while it ran."""
    try:
        result = yield
    except BaseException:
        _screenshot_on_failure(item)
        errors = item.stash.get(BROWSER_ERRORS, [])
        item.stash[_REPORTED] = len(errors)
        if errors:
            item.add_report_section("call", "browser errors", _describe(errors))
        raise
    errors = item.stash.get(BROWSER_ERRORS, [])
    item.stash[_REPORTED] = len(errors)
    if errors:
        _screenshot_on_failure(item)
        pytest.fail(_describe(errors), pytrace=False)
    return result


def _screenshot_on_failure(item) -> None:
    """Where the browser was when the test failed: screenshots/<test>-FAILED[-n].png."""
    test = _test_slug(item)
    for n, page in enumerate(item.stash.get(OPEN_PAGES, [])):
        try:
            SCREENSHOTS.mkdir(exist_ok=True)
            page.screenshot(path=str(SCREENSHOTS / f"{test}-FAILED{'-' + str(n) if n else ''}.png"), full_page=True)
        except Exception:  # noqa: BLE001 - a closed page must not hide the real failure
            pass


@pytest.fixture
def web(new_page):
    """A desktop page (1280×900)."""
    return new_page(**DESKTOP)


@pytest.fixture
def shot(request):
    """``shot(page, "03-register-step-2")`` writes screenshots/<test>-<step>.png, full page."""
    SCREENSHOTS.mkdir(exist_ok=True)
    test = _test_slug(request.node)

    def take(page, step: str) -> Path:
        path = SCREENSHOTS / f"{test}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def authenticator_code(secret_hex: str, used: set[int]) -> str:
    """What an authenticator app shows for the secret now, or at the next 30-second step if this test
    already typed the current one (a code works once)."""
    from django_otp.oath import TOTP

    clock = TOTP(bytes.fromhex(secret_hex))
    step = clock.t()
    while step in used:
        step += 1
    used.add(step)
    clock.drift = step - clock.t()
    return f"{clock.token():06d}"


_TYPED_STEPS: dict[str, set[int]] = {}


def log_in(page, base_url: str, username: str, password: str = PASSWORD) -> None:
    """Through the real login form, as a person would: the password, then the code of the user's
    authenticator app (an app is set up for the user first, if they have none)."""
    from django.contrib.auth import get_user_model
    from django_otp.plugins.otp_totp.models import TOTPDevice

    user = get_user_model().objects.get(username=username)
    device = TOTPDevice.objects.filter(user=user, confirmed=True).first() or TOTPDevice.objects.create(
        user=user, name="phone", confirmed=True)
    page.goto(f"{base_url}/accounts/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", password)
    page.locator("form[action='/accounts/login/'] button[type=submit]").click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)
    if "/account/verify/" in page.url:
        page.fill("input[name=code]", authenticator_code(device.key, _TYPED_STEPS.setdefault(device.key, set())))
        page.locator("main form button[type=submit]").first.click()
        page.wait_for_url(lambda url: "/account/verify/" not in url)


def no_horizontal_scroll(page) -> tuple[bool, int, int]:
    widths = page.evaluate("() => [document.documentElement.scrollWidth, window.innerWidth]")
    return widths[0] <= widths[1] + 1, widths[0], widths[1]
