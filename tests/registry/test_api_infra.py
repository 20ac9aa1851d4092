import pytest
from rest_framework.test import APIClient

from housing.factories import ResidenceFactory, UnitFactory
from registry.models import AuditAction, AuditEvent, ChangeLog


@pytest.fixture
def api():
    return APIClient()


def test_token_is_shown_once_and_acts_with_its_owners_scope(api, staff_a, community_a, community_b):
    mine = ResidenceFactory(unit__property__community=community_a)
    ResidenceFactory(unit__property__community=community_b)
    api.force_login(staff_a)
    created = api.post("/api/v1/tokens/", {"name": "社区平台同步"}, format="json")
    assert created.status_code == 201
    key = created.json()["key"]
    listed = api.get("/api/v1/tokens/").json()
    assert "key" not in listed[0] and listed[0]["prefix"] == key[:8]

    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    response = token_client.get("/api/v1/persons/")
    assert response.status_code == 200
    assert [row["id"] for row in response.json()["results"]] == [mine.person_id]
    assert AuditEvent.objects.filter(action=AuditAction.TOKEN_USE, actor_id=staff_a.pk).count() == 1
    assert api.get("/api/v1/tokens/").json()[0]["last_used_at"] is not None


def test_revoked_token_is_refused(api, staff_a):
    api.force_login(staff_a)
    created = api.post("/api/v1/tokens/", {"name": "old"}, format="json").json()
    assert api.post(f"/api/v1/tokens/{created['id']}/revoke/").status_code == 200
    token_client = APIClient()
    token_client.credentials(HTTP_AUTHORIZATION=f"Token {created['key']}")
    response = token_client.get("/api/v1/persons/")
    assert response.status_code == 401
    assert response.json()["error"] == "token_revoked"


def test_a_token_without_a_name_is_a_400_with_field_errors(api, staff_a):
    api.force_login(staff_a)
    response = api.post("/api/v1/tokens/", {"name": ""}, format="json")
    assert response.status_code == 400
    assert response.json()["error"] == "validation_error" and "name" in response.json()["fields"]


def test_users_cannot_see_or_revoke_each_others_tokens(api, staff_a, staff_b):
    api.force_login(staff_a)
    token_id = api.post("/api/v1/tokens/", {"name": "a"}, format="json").json()["id"]
    api.force_login(staff_b)
    assert api.get("/api/v1/tokens/").json() == []
    assert api.post(f"/api/v1/tokens/{token_id}/revoke/").status_code == 404


def test_change_feed_lists_changes_in_order_scoped_and_resumable(api, staff_a, staff_b, community_a, community_b):
    unit = UnitFactory(property__community=community_a)
    ResidenceFactory(unit__property__community=community_b)
    api.force_authenticate(staff_a)
    first = api.get("/api/v1/changes/").json()
    types = [row["type"] for row in first["results"]]
    assert types[:3] == ["housing.landlord", "housing.property", "housing.unit"]
    cursors = [row["cursor"] for row in first["results"]]
    assert cursors == sorted(cursors)
    assert not first["has_more"]
    unit.capacity += 1
    unit.save()
    nxt = api.get("/api/v1/changes/", {"after": first["next_cursor"]}).json()
    assert [(r["type"], r["id"], r["action"]) for r in nxt["results"]] == [("housing.unit", str(unit.pk), "update")]
    api.force_authenticate(staff_b)
    theirs = api.get("/api/v1/changes/").json()["results"]
    assert str(unit.pk) not in {r["id"] for r in theirs if r["type"] == "housing.unit"}


def test_change_feed_pages_with_limit(api, staff_a, community_a):
    UnitFactory.create_batch(3, property__community=community_a)
    api.force_authenticate(staff_a)
    page = api.get("/api/v1/changes/", {"limit": 2}).json()
    assert len(page["results"]) == 2 and page["has_more"]
    rest = api.get("/api/v1/changes/", {"after": page["next_cursor"], "limit": 100}).json()
    total = ChangeLog.objects.filter(station_id=community_a.station_id).count()
    assert len(page["results"]) + len(rest["results"]) == total


def test_change_feed_rejects_a_bad_cursor_with_400(api, staff_a):
    api.force_authenticate(staff_a)
    response = api.get("/api/v1/changes/", {"after": "abc"})
    assert response.status_code == 400 and "after" in response.json()["fields"]


def test_change_feed_needs_login(api, db):
    assert api.get("/api/v1/changes/").status_code in (401, 403)


def test_openapi_schema_is_valid_and_has_no_warnings(tmp_path, db):
    from django.core.management import call_command

    out = tmp_path / "schema.yml"
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(out))
    assert "/api/v1/changes/" in out.read_text()


def test_api_docs_page_loads_its_assets_locally(client, staff_a):
    client.force_login(staff_a)
    body = client.get("/api/docs/").content.decode()
    assert "swagger-ui" in body and "http://" not in body.replace("http://testserver", "")
    assert "https://" not in body
