"""The Content-Security-Policy and the Permissions-Policy on every kind of response, and templates that keep
to them (no inline script, style or event handler). The browser tests (tests/browser/test_security_headers.py)
prove that the pages then run without a violation."""

import re
from pathlib import Path

import pytest
from django.conf import settings

pytestmark = pytest.mark.django_db

TEMPLATES = Path(settings.BASE_DIR) / "templates"
# Rendered by WeasyPrint into PDFs (the plaque, the resident's access report), never served to a browser.
NOT_BROWSER_PAGES = {"housing/plaque_pdf.html", "persons/access_report_pdf.html", "patrol/receipt_pdf.html"}
INLINE = [
    (re.compile(r"\sstyle\s*=", re.I), "a style attribute"),
    (re.compile(r"<style[\s>]", re.I), "a <style> element"),
    (re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I), "an inline <script>"),
    (re.compile(r"\son[a-z]+\s*=", re.I), "an event handler attribute"),
    (re.compile(r"javascript:", re.I), "a javascript: URL"),
    (re.compile(r"\shx-on", re.I), "an hx-on attribute (htmx evaluates it)"),
]


def policy(response) -> dict[str, str]:
    header = response["Content-Security-Policy"]
    parts = (part.strip().split(None, 1) for part in header.split(";") if part.strip())
    return {part[0]: (part[1] if len(part) > 1 else "") for part in parts}


def assert_strict(response):
    directives = policy(response)
    assert directives["default-src"] == "'self'"
    assert directives["script-src"] == "'self'"
    assert directives["style-src"] == "'self'"
    assert directives["img-src"] == "'self' data:"
    assert directives["object-src"] == "'none'"
    assert directives["base-uri"] == "'none'"
    assert directives["form-action"] == "'self'"
    assert directives["frame-ancestors"] == "'none'"
    header = response["Content-Security-Policy"]
    for loose in ("unsafe-inline", "unsafe-eval", "unsafe-hashes", "http:", "https:", "*", "nonce-"):
        assert loose not in header, loose
    features = dict(item.strip().split("=", 1) for item in response["Permissions-Policy"].split(","))
    for feature in ("camera", "microphone", "geolocation", "payment", "usb", "serial", "hid", "bluetooth"):
        assert features[feature] == "()", feature
    assert features["clipboard-write"] == "(self)"  # the copy buttons


@pytest.mark.parametrize("path", ["/accounts/login/", "/portal/accounts/password-reset/", "/no-such-page/",
                                  "/api/v1/persons/", "/static/css/registry.css", "/admin/login/"])
def test_anonymous_responses_of_every_kind_carry_the_strict_policy(client, path):
    assert_strict(client.get(path))


@pytest.mark.parametrize("path", ["/", "/persons/", "/api/v1/persons/", "/api/docs/", "/api/docs/?script=",
                                  "/api/schema/", "/account/sessions/"])
def test_signed_in_pages_the_api_and_its_docs_carry_the_strict_policy(client, officer_a, path):
    client.force_login(officer_a)
    response = client.get(path)
    assert response.status_code == 200
    assert_strict(response)


def test_the_api_docs_start_swagger_ui_from_a_script_file_not_inline(client, officer_a):
    client.force_login(officer_a)
    page = client.get("/api/docs/").content.decode()
    assert '<script src="/api/docs/?script="></script>' in page
    assert "<style" not in page
    script = client.get("/api/docs/?script=")
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle(" in script.content.decode()
    assert '"validatorUrl": null' in script.content.decode()  # no badge fetched from the public validator


def test_the_admin_carries_the_strict_policy(client, admin_user):
    client.force_login(admin_user)
    for path in ("/admin/", "/admin/auth/user/", f"/admin/auth/user/{admin_user.pk}/change/"):
        response = client.get(path)
        assert response.status_code == 200, path
        assert_strict(response)


def test_no_template_has_inline_script_style_or_event_handlers():
    found = []
    for path in sorted(TEMPLATES.rglob("*.html")):
        name = path.relative_to(TEMPLATES).as_posix()
        if name in NOT_BROWSER_PAGES:
            continue
        text = re.sub(r"{#.*?#}", "", path.read_text(), flags=re.S)  # comments may name what they avoid
        found += [f"{name}: {what}" for pattern, what in INLINE if pattern.search(text)]
    assert found == []


def test_the_template_check_finds_what_it_looks_for():
    samples = ['<p style="color:red">', "<style>p{}</style>", "<script>alert(1)</script>",
               '<button onclick="go()">', '<a href="javascript:go()">', '<div hx-on:click="go()">']
    for sample, (pattern, _what) in zip(samples, INLINE, strict=True):
        assert pattern.search(sample), sample
    assert not INLINE[2][0].search('<script src="/static/x.js" defer></script>')
