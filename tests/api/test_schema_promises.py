"""The API answers what its schema says, in the caller's language (issue 18).

Each test pins one point measured by schemathesis: a wrongly typed parameter is a 400 naming it, a bad
cursor is a 400, the change feed's parameters agree with their schema, the schema lists every status
(422 for a reused Idempotency-Key, "" where a choice may be blank), 412/428 follow Accept-Language, and a
landlord's feed never points at a record the landlord cannot read.
"""

import re

import pytest
from django.core.cache import cache
from django.urls import reverse
from drf_spectacular.generators import SchemaGenerator

from housing.models import Residence
from portal.services import submission_report_departure
from registry.changes import changes_sequence

from .conftest import TODAY, token_client
from .test_tokens import signed_in

CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(scope="module")
def openapi(django_db_blocker):
    with django_db_blocker.unblock():
        return SchemaGenerator().get_schema(request=None, public=True)


def _client(world, role="staff_a", language="en"):
    client = token_client(world.users[role])
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = language
    return client


def _fields(response) -> dict:
    assert response.status_code == 400, (response.status_code, response.content[:300])
    body = response.json()
    assert body["error"] == "validation_error"
    return body["fields"]


# --- wrongly typed parameters: a 400 naming the parameter -----------------------------------------------

@pytest.mark.parametrize("value", ["null", "true", "false", "0", "-3", "201", "1.5", "abc"])
def test_a_page_size_that_is_not_a_whole_number_from_1_to_200_is_a_400(world, value):
    assert "page_size" in _fields(_client(world).get("/api/v1/persons/", {"page_size": value}))


def test_a_page_size_in_range_still_pages(world):
    response = _client(world).get("/api/v1/residences/", {"page_size": 1})
    assert response.status_code == 200 and len(response.json()["results"]) == 1


@pytest.mark.parametrize("path, param, value", [
    ("/api/v1/ratings/", "current", "-1"),
    ("/api/v1/inspections/", "passed", "-1"),
    ("/api/v1/verification-requests/", "open", "426319137051"),
    ("/api/v1/properties/", "over_capacity", "yes"),
    ("/api/v1/ratings/", "current", "1"),
])
def test_a_yes_no_filter_given_anything_but_true_or_false_is_a_400(world, path, param, value):
    fields = _fields(_client(world, "officer_a").get(path, {param: value}))
    assert param in fields and fields[param] == ["Yes or no: true or false."]


@pytest.mark.parametrize("value", ["true", "false", "True", ""])
def test_a_yes_no_filter_takes_true_false_or_nothing(world, value):
    assert _client(world, "officer_a").get("/api/v1/ratings/", {"current": value}).status_code == 200


def test_the_html_list_ignores_a_bad_yes_no_value_as_before(client, world):
    client.force_login(world.users["staff_a"])
    response = client.get(reverse("housing:property_list"), {"over_capacity": "-1"})
    assert response.status_code == 200 and world.a.property.address in response.content.decode()


@pytest.mark.parametrize("body, field", [
    ({"name": 0}, "name"),
    ({"name": 12.5}, "name"),
    ({"name": "erp", "read_only": 1}, "read_only"),
    ({"name": "erp", "read_only": "yes"}, "read_only"),
    ({"name": "erp", "expires_in_days": "30"}, "expires_in_days"),
    ({"name": "erp", "expires_in_days": True}, "expires_in_days"),
])
def test_a_json_value_of_the_wrong_type_is_a_400_naming_the_field(staff_a, body, field):
    cache.clear()  # the token endpoint counts failures per address
    response = signed_in(staff_a).post("/api/v1/tokens/", body, format="json")
    assert field in _fields(response)


def test_a_form_body_still_takes_text_for_numbers_and_yes_no(staff_a):
    cache.clear()
    response = signed_in(staff_a).post("/api/v1/tokens/", {"name": "erp", "expires_in_days": "30",
                                                           "read_only": "true"})
    assert response.status_code == 201 and response.json()["read_only"] is True


def test_a_json_body_of_the_right_types_is_taken(world):
    response = _client(world).post("/api/v1/units/", {"property": world.a.property.pk, "label": "7-701",
                                                      "capacity": 3}, format="json")
    assert response.status_code == 201


# --- cursors -----------------------------------------------------------------------------------------------

@pytest.mark.parametrize("cursor", ["abc", "cD0xMg", "cD1hYmM=", "bz0tMQ=="], ids=["garbage", "p=12 unpadded",
                                                                                  "p=abc", "o=-1"])
def test_a_bad_cursor_is_a_400_naming_it_on_every_list(world, cursor):
    for path in ("/api/v1/appeals/", "/api/v1/residences/", "/api/v1/persons/"):
        response = _client(world).get(path, {"cursor": cursor})
        if response.status_code == 200:  # a cursor that decodes to a real position is fine
            continue
        assert "cursor" in _fields(response), path


def test_a_forged_cursor_position_is_a_400_not_a_500(world):
    import base64

    client = _client(world)
    client.raise_request_exception = False
    cursor = base64.b64encode(b"p=not-a-number").decode()
    assert "cursor" in _fields(client.get("/api/v1/residences/", {"cursor": cursor}))


def test_the_next_link_of_a_page_still_works(world):
    first = _client(world).get("/api/v1/residences/", {"page_size": 1}).json()
    assert first["next"]
    assert _client(world).get(first["next"]).status_code == 200


# --- the change feed's parameters agree with the schema ----------------------------------------------------

@pytest.mark.parametrize("params, field", [
    ({"after": "-526"}, "after"), ({"after": "x"}, "after"), ({"after": "1.5"}, "after"),
    ({"limit": "0"}, "limit"), ({"limit": "1001"}, "limit"), ({"limit": "true"}, "limit"),
])
def test_the_feed_refuses_parameters_outside_their_schema(world, params, field):
    fields = _fields(_client(world).get("/api/v1/changes/", params))
    assert list(fields) == [field]


def test_the_feed_schema_states_the_ranges_it_enforces(openapi):
    parameters = {p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/changes/"]["get"]["parameters"]}
    assert parameters["after"] == {"type": "integer", "minimum": 0}
    assert parameters["limit"] == {"type": "integer", "minimum": 1, "maximum": 1000}


def test_list_schemas_state_the_page_size_range(openapi):
    parameters = {p["name"]: p["schema"] for p in openapi["paths"]["/api/v1/persons/"]["get"]["parameters"]}
    assert parameters["page_size"] == {"type": "integer", "minimum": 1, "maximum": 200}


# --- the schema lists every status and every value ----------------------------------------------------------

def test_every_operation_that_honours_an_idempotency_key_documents_the_422(openapi):
    missing = []
    for path, item in openapi["paths"].items():
        for method, operation in item.items():
            headers = {p["name"] for p in operation.get("parameters", []) if p["in"] == "header"}
            if "Idempotency-Key" in headers:
                response = operation["responses"].get("422")
                if response is None or "Error" not in str(response):
                    missing.append(f"{method.upper()} {path}")
    assert not missing, missing
    for path in ("/api/v1/inspections/", "/api/v1/landlords/"):
        assert "422" in openapi["paths"][path]["post"]["responses"]


def test_a_reused_idempotency_key_answers_the_documented_422_in_the_callers_language(world):
    for language, has_cjk in (("en", False), ("zh-hans", True)):
        client = _client(world, language=language)
        key = f"key-{language}"
        first = client.post("/api/v1/units/", {"property": world.a.property.pk, "label": f"{language}-1",
                                               "capacity": 2}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert first.status_code == 201
        again = client.post("/api/v1/units/", {"property": world.a.property.pk, "label": f"{language}-2",
                                               "capacity": 2}, format="json", HTTP_IDEMPOTENCY_KEY=key)
        assert again.status_code == 422 and again.json()["error"] == "idempotency_key_reused"
        assert bool(CJK.search(again.json()["detail"])) is has_cjk


def _resolve(openapi, schema):
    while "$ref" in schema:
        schema = openapi["components"]["schemas"][schema["$ref"].rsplit("/", 1)[1]]
    return schema


def _allows_blank(openapi, schema) -> bool:
    schema = _resolve(openapi, schema)
    options = schema.get("oneOf") or schema.get("anyOf") or [schema]
    return any("" in _resolve(openapi, option).get("enum", []) for option in options)


def test_a_departures_blank_sex_is_valid_in_the_schema(world, openapi):
    submission = submission_report_departure(prop=world.a.property, residence=world.a.residence,
                                             actor=world.users["landlord"], date=TODAY)
    body = _client(world, "officer_a").get(f"/api/v1/submissions/{submission.pk}/").json()
    assert body["sex"] == ""
    assert _allows_blank(openapi, openapi["components"]["schemas"]["Submission"]["properties"]["sex"])


def test_a_current_residences_blank_end_reason_is_valid_in_the_schema(world, openapi):
    body = _client(world).get(f"/api/v1/residences/{world.a.residence.pk}/").json()
    assert body["end_reason"] == ""
    assert _allows_blank(openapi, openapi["components"]["schemas"]["Residence"]["properties"]["end_reason"])


# --- every error in the caller's language ------------------------------------------------------------------

@pytest.mark.parametrize("if_match, status, code", [(None, 428, "precondition_required"), ('"1-999"', 412, "stale")])
@pytest.mark.parametrize("language", ["en", "en-US,en;q=0.8", "zh-hans"])
def test_412_and_428_speak_the_callers_language(world, if_match, status, code, language):
    headers = {"HTTP_IF_MATCH": if_match} if if_match else {}
    response = _client(world, language=language).post(
        f"/api/v1/residences/{world.a.residence.pk}/end/", {"end_date": TODAY.isoformat(), "end_reason": "other"},
        format="json", **headers)
    assert response.status_code == status and response.json()["error"] == code
    chinese = language == "zh-hans"
    assert bool(CJK.search(response.json()["detail"])) is chinese
    assert response["Content-Language"] == ("zh-hans" if chinese else "en")


@pytest.mark.parametrize("request_", [
    ("get", "/api/v1/persons/", {"page_size": "null"}),
    ("get", "/api/v1/appeals/", {"cursor": "abc"}),
    ("get", "/api/v1/ratings/", {"current": "-1"}),
    ("get", "/api/v1/changes/", {"after": "-1"}),
    ("post", "/api/v1/units/", {"label": 5}),
], ids=["page_size", "cursor", "boolean", "after", "json-type"])
@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_new_400s_speak_the_callers_language(world, request_, language):
    method, path, params = request_
    client = _client(world, "officer_a", language)
    response = client.get(path, params) if method == "get" else client.post(path, params, format="json")
    messages = [m for ms in _fields(response).values() for m in ms] + [response.json()["detail"]]
    for message in messages:
        assert bool(CJK.search(message)) is (language == "zh-hans"), message


# --- a landlord's feed lists what the landlord can read -----------------------------------------------------

def _feed(client):
    changes_sequence()
    entries, after = [], 0
    while True:
        page = client.get("/api/v1/changes/", {"after": after, "limit": 1000}).json()
        entries += page["results"]
        if not page["has_more"]:
            return entries
        after = page["next_cursor"]


DETAIL = {"housing.residence": "residences", "housing.property": "properties", "housing.unit": "units",
          "housing.landlord": "landlords", "persons.employer": "employers", "portal.submission": "submissions",
          "patrol.propertyrating": "ratings", "persons.person": "persons", "persons.employment": "employments"}


@pytest.mark.parametrize("role", ["landlord", "employer"])
def test_an_owners_feed_points_only_at_records_the_owner_can_read(world, role):
    client = _client(world, role)
    entries = _feed(client)
    assert entries
    for entry in entries:
        if entry["action"] == "delete":
            continue
        path = f"/api/v1/{DETAIL[entry['type']]}/{entry['id']}/"
        assert client.get(path).status_code == 200, f"{role}'s feed lists {entry}, whose detail is not readable"


def test_a_tenancy_that_ended_leaves_the_landlords_feed_as_one_delete(world):
    client = _client(world, "landlord")
    current = world.a.residence
    before = [e for e in _feed(client) if e["type"] == "housing.residence" and e["id"] == str(current.pk)]
    assert before and all(e["action"] != "delete" for e in before)
    Residence.objects.filter(pk=current.pk).update(status="ended", end_date=TODAY, end_reason="other")
    current.refresh_from_db()
    from registry.changes import change_record
    change_record(current, "update")
    entries = [e for e in _feed(client) if e["type"] == "housing.residence" and e["id"] == str(current.pk)]
    assert [(e["action"], e["version"]) for e in entries] == [("delete", None)]
    assert entries[0]["cursor"] > max(e["cursor"] for e in before)
    assert client.get(f"/api/v1/residences/{current.pk}/").status_code == 404
    # The tenancy that had ended before the landlord ever read the feed is announced once, the same way.
    ended = [e for e in _feed(client) if e["type"] == "housing.residence" and e["id"] == str(world.a.ended.pk)]
    assert [e["action"] for e in ended] == ["delete"]


def test_staff_feeds_are_unchanged_by_the_owners_rule(world):
    entries = _feed(_client(world, "staff_a"))
    ended = [e for e in entries if e["type"] == "housing.residence" and e["id"] == str(world.a.ended.pk)]
    assert ended and ended[0]["action"] == "create"



@pytest.mark.parametrize("language", ["en", "zh-hans"])
def test_an_unreadable_body_is_a_400_in_the_callers_language(world, language):
    response = _client(world, language=language).generic("POST", "/api/v1/units/", b"{not json",
                                                          content_type="application/json")
    assert response.status_code == 400 and response.json()["error"] == "parse_error"
    detail = response.json()["detail"]
    assert "Expecting" not in detail and bool(CJK.search(detail)) is (language == "zh-hans")
