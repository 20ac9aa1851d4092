"""The API-token page: create (key shown once, only a hash stored) with an expiry and optionally read-only, list
with state and last use, revoke; one's own only; creating needs a verified session and an unlocked address."""

import datetime

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from registry.lockout import address_failed
from registry.models import ApiToken, AuditAction, AuditEvent
from registry.services import api_token_create, api_token_revoke

LIST = reverse("tokens:list")


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def revoke_url(token):
    return reverse("tokens:revoke", args=[token.pk])


def test_anonymous_is_sent_to_login(client, staff_a):
    token, _raw = api_token_create(user=staff_a, name="sync")
    for response in (client.get(LIST), client.post(LIST, {"name": "x"}), client.post(revoke_url(token))):
        assert response.status_code == 302 and reverse("login") in response["Location"]
    assert ApiToken.objects.count() == 1
    token.refresh_from_db()
    assert token.revoked_at is None


def test_created_key_is_shown_once_works_for_the_api_and_is_not_stored(client, staff_a):
    client.force_login(staff_a)
    response = client.post(LIST, {"name": "社区平台同步"})
    assert response.status_code == 201
    raw = response.context["raw_key"]
    assert raw.startswith("rg_") and raw in response.content.decode()
    token = ApiToken.objects.get(user=staff_a)
    assert token.name == "社区平台同步" and raw not in token.key_hash
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_CREATED, object_type="registry.apitoken",
                                     object_id=str(token.pk), actor_id=staff_a.pk).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/persons/").status_code == 200
    # Listed afterwards with its prefix only.
    page = client.get(LIST).content.decode()
    assert "社区平台同步" in page and token.prefix in page and raw not in page


def test_a_blank_name_is_refused_with_the_reason_and_creates_nothing(client, staff_a):
    client.force_login(staff_a)
    response = client.post(LIST, {"name": "   "})
    assert response.status_code == 400
    assert "say what the token is for" in response.content.decode()
    assert not ApiToken.objects.exists()


def test_revoked_token_is_refused_by_the_api_and_audited(client, staff_a):
    token, raw = api_token_create(user=staff_a, name="old system")
    client.force_login(staff_a)
    response = client.post(revoke_url(token), follow=True)
    assert "revoked" in response.content.decode()
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_REVOKED, object_type="registry.apitoken",
                                     object_id=str(token.pk)).exists()
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    assert api.get("/api/v1/persons/").status_code == 401


def test_another_users_token_does_not_exist_for_you(client, staff_a, staff_b):
    theirs, _raw = api_token_create(user=staff_b, name="西山同步平台")
    client.force_login(staff_a)
    assert "西山同步平台" not in client.get(LIST).content.decode()
    assert client.post(revoke_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_revoke_needs_post(client, staff_a):
    token, _raw = api_token_create(user=staff_a, name="sync")
    client.force_login(staff_a)
    assert client.get(revoke_url(token)).status_code == 405


# --- expiry, scope and state (issue 14) ------------------------------------------------------------------

@pytest.fixture
def _fresh_failure_counts():
    cache.clear()
    yield
    cache.clear()


def test_the_form_offers_the_default_expiry_and_read_write(client, staff_a):
    client.force_login(staff_a)
    form = client.get(LIST).context["form"]
    assert form["expires_in_days"].value() == 90 and not form["read_only"].value()


def test_a_token_created_on_the_page_gets_the_chosen_expiry_and_scope_shown_in_the_list(client, staff_a):
    client.force_login(staff_a)
    response = client.post(LIST, {"name": "报表", "expires_in_days": "30", "read_only": "on"})
    assert response.status_code == 201
    token = ApiToken.objects.get(user=staff_a)
    assert token.read_only and round((token.expires_at - token.created_at).total_seconds() / 86400) == 30
    row = _row(client.get(LIST), token)
    assert timezone.localdate(token.expires_at).isoformat() in row
    assert "read only" in row and "never" in row


@pytest.mark.parametrize(("days", "reason"), [
    ("366", "from 1 to 365"), ("0", "from 1 to 365"), ("-1", "from 1 to 365"), ("soon", "a whole number of days")])
def test_an_expiry_over_the_maximum_or_not_ahead_is_a_form_error(client, staff_a, days, reason):
    client.force_login(staff_a)
    response = client.post(LIST, {"name": "sync", "expires_in_days": days})
    assert response.status_code == 400
    assert reason in " ".join(response.context["form"].errors["expires_in_days"])
    assert 'id="id_expires_in_days_error"' in response.content.decode()
    assert not ApiToken.objects.exists()


def test_expired_and_revoked_tokens_are_marked_and_offer_no_revoke(client, staff_a):
    expired, _raw = api_token_create(user=staff_a, name="expired one")
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(days=2))
    revoked, _raw = api_token_create(user=staff_a, name="revoked one")
    api_token_revoke(token=revoked)
    live, _raw = api_token_create(user=staff_a, name="live one")
    client.force_login(staff_a)
    response = client.get(LIST)
    assert "expired " in _row(response, expired) and revoke_url(expired) not in _row(response, expired)
    assert "revoked " in _row(response, revoked) and revoke_url(revoked) not in _row(response, revoked)
    assert revoke_url(live) in _row(response, live) and "read and write" in _row(response, live)


@pytest.mark.real_sign_in
def test_a_landlord_without_a_second_factor_is_asked_to_set_one_up_before_creating_a_token(client, landlord_a):
    client.force_login(landlord_a.user)
    page = client.get(LIST)
    assert page.status_code == 200 and "csrfmiddlewaretoken" not in _new_token_block(page)
    setup = reverse("account:otp_setup")
    assert f'href="{setup}?next=/' in page.content.decode()
    response = client.post(LIST, {"name": "sync"})
    assert response.status_code == 302 and response["Location"].startswith(f"{setup}?next=")
    assert not ApiToken.objects.exists()


@pytest.mark.usefixtures("_fresh_failure_counts")
def test_creating_a_token_from_a_locked_address_is_refused(client, staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "ADDRESS_FAILURE_LIMIT": 3}
    for _ in range(3):
        address_failed("203.0.113.77")
    client.force_login(staff_a)
    response = client.post(LIST, {"name": "sync"}, REMOTE_ADDR="203.0.113.77")
    assert response.status_code == 429
    assert not ApiToken.objects.exists()
    assert client.post(LIST, {"name": "sync"}, REMOTE_ADDR="198.51.100.8").status_code == 201


def _row(response, token) -> str:
    html = response.content.decode()
    start = html.index(f'id="token-{token.pk}"')
    return html[start:html.index("</tr>", start)]


def _new_token_block(response) -> str:
    html = response.content.decode()
    start = html.index("<h2 class=\"h5\">New token</h2>")
    return html[start:html.index("</div>", start)]
