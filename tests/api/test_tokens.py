"""API tokens over the API: expiry chosen at creation, read-only scope, 401s that say which, creation only
from a session verified with a second factor, and token guessing counted like password spraying."""

import datetime

import pytest
import time_machine
from django.core.cache import cache
from django.utils import timezone
from rest_framework.test import APIClient

from housing.factories import PropertyFactory, UnitFactory
from housing.models import Unit
from registry.models import ApiToken, AuditAction, AuditEvent
from registry.services import api_token_create, api_token_revoke

TOKENS = "/api/v1/tokens/"
ATTACKER = "203.0.113.66"


@pytest.fixture(autouse=True)
def _fresh_failure_counts():
    """Failures per address live in the cache, which the whole run shares."""
    cache.clear()
    yield
    cache.clear()


def client_with(raw: str | None = None, **defaults) -> APIClient:
    client = APIClient(HTTP_ACCEPT_LANGUAGE="en", **defaults)
    if raw is not None:
        client.credentials(HTTP_AUTHORIZATION=f"Token {raw}")
    return client


def signed_in(user) -> APIClient:
    """A browser session that gave its second factor (tests/conftest.py)."""
    client = client_with()
    client.force_login(user)
    return client


# --- expiry and scope chosen at creation ------------------------------------------------------------------

def test_a_token_expires_after_the_default_90_days_unless_told_otherwise(staff_a):
    client = signed_in(staff_a)
    before = timezone.now()
    default = client.post(TOKENS, {"name": "默认"}, format="json").json()
    thirty = client.post(TOKENS, {"name": "一个月", "expires_in_days": 30}, format="json").json()
    moment = (before + datetime.timedelta(days=200)).replace(microsecond=0)
    chosen = client.post(TOKENS, {"name": "定时", "expires_at": moment.isoformat()}, format="json").json()

    def days_left(row):
        return round((datetime.datetime.fromisoformat(row["expires_at"]) - before).total_seconds() / 86400)

    assert (days_left(default), days_left(thirty)) == (90, 30)
    assert datetime.datetime.fromisoformat(chosen["expires_at"]) == moment
    listed = {row["name"]: row for row in client.get(TOKENS).json()}
    assert listed["一个月"]["expires_at"] == thirty["expires_at"]
    assert {row["state"] for row in listed.values()} == {"active"}
    assert {row["read_only"] for row in listed.values()} == {False}


@pytest.mark.parametrize(("body", "field"), [
    ({"expires_in_days": 366}, "expires_in_days"),
    ({"expires_in_days": 0}, "expires_in_days"),
    ({"expires_in_days": -30}, "expires_in_days"),
    ({"expires_in_days": "soon"}, "expires_in_days"),
    ({"expires_in_days": 10**30}, "expires_in_days"),
    ({"expires_at": "2020-01-01T00:00:00Z"}, "expires_at"),
    ({"expires_at": "in a year"}, "expires_at"),
    ({"expires_at": "9999-12-31T23:59:59-12:00"}, "expires_at"),
], ids=["over-max", "zero", "negative", "not-a-number", "huge", "past", "not-a-moment", "year-9999"])
def test_an_expiry_over_the_maximum_or_in_the_past_is_a_400_naming_the_field(staff_a, body, field):
    response = signed_in(staff_a).post(TOKENS, {"name": "sync", **body}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error"
    assert field in response.json()["fields"]
    assert not ApiToken.objects.exists()


def test_an_expiry_one_day_past_the_maximum_moment_is_a_400(staff_a):
    late = timezone.now() + datetime.timedelta(days=366)
    response = signed_in(staff_a).post(TOKENS, {"name": "sync", "expires_at": late.isoformat()}, format="json")
    assert response.status_code == 400
    assert "at most 365 days" in response.json()["fields"]["expires_at"][0]


def test_an_expiry_in_days_and_a_moment_together_is_a_400(staff_a):
    moment = (timezone.now() + datetime.timedelta(days=10)).isoformat()
    response = signed_in(staff_a).post(TOKENS, {"name": "sync", "expires_in_days": 10, "expires_at": moment},
                                       format="json")
    assert response.status_code == 400
    assert "not both" in response.json()["fields"]["expires_at"][0]


def test_the_maximum_follows_the_setting(staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "TOKEN_DAYS_MAX": 30}
    client = signed_in(staff_a)
    assert client.post(TOKENS, {"name": "a", "expires_in_days": 31}, format="json").status_code == 400
    assert client.post(TOKENS, {"name": "b", "expires_in_days": 30}, format="json").status_code == 201


# --- 401 that says which ------------------------------------------------------------------------------

def test_an_expired_token_gets_401_saying_when_it_expired_and_is_audited_once_a_day(staff_a):
    token, raw = api_token_create(user=staff_a, name="sync", expires_in_days=30)
    client = client_with(raw)
    assert client.get("/api/v1/persons/").status_code == 200
    with time_machine.travel(token.expires_at + datetime.timedelta(hours=1), tick=False):
        first, second = client.get("/api/v1/persons/"), client.get("/api/v1/persons/")
    with time_machine.travel(token.expires_at + datetime.timedelta(days=1, hours=2), tick=False):
        next_day = client.get("/api/v1/persons/")
    for response in (first, second, next_day):
        assert response.status_code == 401
        assert response.json() == {"error": "token_expired", "detail": (
            f"This API token expired on {timezone.localdate(token.expires_at).isoformat()}.")}
        assert response["WWW-Authenticate"] == "Token"
    expired = AuditEvent.objects.filter(action=AuditAction.TOKEN_EXPIRED, object_id=str(token.pk))
    assert expired.count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_USE, object_id=str(token.pk)).count() == 1


def test_a_revoked_token_gets_401_saying_it_was_revoked(staff_a):
    token, raw = api_token_create(user=staff_a, name="sync")
    api_token_revoke(token=token)
    response = client_with(raw).get("/api/v1/persons/")
    assert response.status_code == 401
    assert response.json() == {"error": "token_revoked", "detail": "This API token was revoked."}


def test_an_unknown_token_gets_401_invalid_token_and_nothing_more(staff_a):
    api_token_create(user=staff_a, name="sync")
    response = client_with("rg_" + "x" * 43).get("/api/v1/persons/")
    assert response.status_code == 401
    assert response.json() == {"error": "authentication_failed", "detail": "Invalid token."}


def test_a_token_of_a_deactivated_user_is_just_invalid(staff_a):
    _token, raw = api_token_create(user=staff_a, name="sync")
    staff_a.is_active = False
    staff_a.save(update_fields=["is_active"])
    assert client_with(raw).get("/api/v1/persons/").json()["detail"] == "Invalid token."


# --- read-only scope -----------------------------------------------------------------------------------

def test_a_read_only_token_reads_and_gets_403_on_any_write(staff_a, community_a):
    prop = PropertyFactory(community=community_a)
    unit = UnitFactory(property=prop, label="1-101")
    _token, raw = api_token_create(user=staff_a, name="报表", read_only=True)
    reader = client_with(raw)
    assert reader.get("/api/v1/persons/").status_code == 200
    assert reader.get(f"/api/v1/units/{unit.pk}/").status_code == 200
    assert reader.head("/api/v1/units/").status_code == 200
    assert reader.options("/api/v1/units/").status_code == 200

    body = {"property": prop.pk, "label": "1-102", "capacity": 2}
    writes = [reader.post("/api/v1/units/", body, format="json"),
              reader.patch(f"/api/v1/units/{unit.pk}/", {"capacity": 9}, format="json", HTTP_IF_MATCH="*"),
              reader.put(f"/api/v1/units/{unit.pk}/", body, format="json", HTTP_IF_MATCH="*"),
              reader.delete(f"/api/v1/units/{unit.pk}/"),
              reader.post(f"/api/v1/tokens/{_token.pk}/revoke/")]
    for response in writes:
        assert response.status_code == 403
        assert response.json() == {"error": "read_only_token", "detail": (
            "This API token is read-only: it may read (GET, HEAD, OPTIONS) but not change anything.")}
    assert list(Unit.objects.filter(property=prop).values_list("label", "capacity")) == [("1-101", 4)]
    # The same write with a read-write token of the same user goes through.
    _writer_token, writer_raw = api_token_create(user=staff_a, name="同步")
    assert client_with(writer_raw).post("/api/v1/units/", body, format="json").status_code == 201


def test_the_token_list_shows_expiry_scope_and_state(staff_a):
    reader, _raw = api_token_create(user=staff_a, name="reader", read_only=True)
    ApiToken.objects.filter(pk=reader.pk).update(expires_at=timezone.now() - datetime.timedelta(minutes=1))
    revoked, _raw = api_token_create(user=staff_a, name="old")
    api_token_revoke(token=revoked)
    api_token_create(user=staff_a, name="new")
    listed = {row["name"]: row for row in signed_in(staff_a).get(TOKENS).json()}
    assert (listed["reader"]["read_only"], listed["reader"]["state"]) == (True, "expired")
    assert (listed["old"]["read_only"], listed["old"]["state"]) == (False, "revoked")
    assert listed["new"]["state"] == "active"
    assert {"expires_at", "last_used_at", "revoked_at"} <= set(listed["reader"])


# --- who may create one --------------------------------------------------------------------------------

@pytest.mark.real_sign_in
def test_creating_a_token_without_a_verified_session_is_refused(landlord_a):
    # A landlord need not use a second factor, so the sign-in policy lets the session through unverified.
    client = client_with()
    client.force_login(landlord_a.user)
    assert client.get(TOKENS).status_code == 200
    response = client.post(TOKENS, {"name": "sync"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "second_factor_required"
    assert not ApiToken.objects.exists()


def test_a_token_cannot_create_tokens(staff_a):
    _token, raw = api_token_create(user=staff_a, name="sync")
    response = client_with(raw).post(TOKENS, {"name": "another"}, format="json")
    assert response.status_code == 403
    assert response.json()["error"] == "session_required"
    assert ApiToken.objects.count() == 1


def test_creation_audits_token_created_and_revocation_token_revoked(staff_a):
    client = signed_in(staff_a)
    created = client.post(TOKENS, {"name": "sync", "read_only": True}, format="json").json()
    client.post(f"{TOKENS}{created['id']}/revoke/")
    events = list(AuditEvent.objects.filter(object_type="registry.apitoken", object_id=str(created["id"]))
                  .order_by("pk").values_list("action", flat=True))
    assert events == [AuditAction.TOKEN_CREATED, AuditAction.TOKEN_REVOKED]
    assert AuditEvent.objects.get(action=AuditAction.TOKEN_CREATED).changes["read_only"] is True


# --- token guessing counts like password spraying -----------------------------------------------------

def test_token_guessing_from_one_address_is_refused_after_the_limit(staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "ADDRESS_FAILURE_LIMIT": 5}
    expired, expired_raw = api_token_create(user=staff_a, name="expired", expires_in_days=1)
    ApiToken.objects.filter(pk=expired.pk).update(expires_at=timezone.now() - datetime.timedelta(hours=1))
    revoked, revoked_raw = api_token_create(user=staff_a, name="revoked")
    api_token_revoke(token=revoked)
    _good, good_raw = api_token_create(user=staff_a, name="good")

    guesses = [f"rg_guess{n}" for n in range(3)] + [expired_raw, revoked_raw]
    answers = [client_with(raw, REMOTE_ADDR=ATTACKER).get("/api/v1/persons/").status_code for raw in guesses]
    assert answers == [401] * 5
    # The limit is reached: from this address every token is refused before it is looked at, a good one too.
    for raw in ("rg_guess-next", good_raw, good_raw):
        refused = client_with(raw, REMOTE_ADDR=ATTACKER).get("/api/v1/persons/")
        assert refused.status_code == 429
        assert refused.json()["error"] == "locked_out"
        assert int(refused["Retry-After"]) > 0
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, reason="address").count() == 1
    # Another address is not affected.
    assert client_with(good_raw, REMOTE_ADDR="198.51.100.7").get("/api/v1/persons/").status_code == 200


def test_creating_a_token_from_a_locked_address_is_a_429(staff_a, settings):
    settings.REGISTRY = {**settings.REGISTRY, "ADDRESS_FAILURE_LIMIT": 2}
    for n in range(2):
        client_with(f"rg_guess{n}", REMOTE_ADDR=ATTACKER).get("/api/v1/persons/")
    client = client_with(REMOTE_ADDR=ATTACKER)
    client.force_login(staff_a)
    response = client.post(TOKENS, {"name": "sync"}, format="json")
    assert response.status_code == 429
    assert response.json()["error"] == "locked_out"
    assert not ApiToken.objects.exists()
