"""The API-token page: create (key shown once, only a hash stored), list with last use, revoke; one's own only."""

import pytest
from django.urls import reverse
from rest_framework.test import APIClient

from registry.models import ApiToken, AuditAction, AuditEvent
from registry.services import api_token_create

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
    assert AuditEvent.objects.filter(action=AuditAction.CREATE, object_type="registry.apitoken",
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
    assert AuditEvent.objects.filter(action=AuditAction.UPDATE, object_type="registry.apitoken",
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
