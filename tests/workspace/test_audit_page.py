"""/audit/ and /api/v1/audit-events/ (issue 16, point 1): supervisors read their district's trail, filtered,
newest first, by cursor, exportable; reading and exporting are audited; no one else reads it."""

import csv
import datetime
import io

import pytest
from django.utils import timezone

from persons.factories import PersonFactory
from registry import audit
from registry.factories import DistrictFactory, StationFactory, make_user
from registry.models import AuditAction, AuditEvent
from registry.roles import RoleChoices

from ..api.conftest import token_client

URL = "/audit/"


@pytest.fixture
def trail(staff_a, staff_b, station_a, station_b):
    person_a = PersonFactory(registered_station=station_a)
    person_b = PersonFactory(registered_station=station_b)
    audit.record_view(staff_a, person_a, via="web")
    audit.record_unmask(staff_a, person_a, reason="核对身份", via="web")
    audit.record_view(staff_b, person_b, via="web")
    return person_a, person_b


def test_a_supervisor_reads_the_districts_trail_newest_first_and_opening_it_is_audited(client, supervisor, trail):
    person_a, _person_b = trail
    client.force_login(supervisor)
    before = AuditEvent.objects.filter(object_type="registry.auditevent").count()
    page = client.get(URL)
    assert page.status_code == 200
    rows = page.context["rows"]
    assert {row.object_id for row in rows if row.object_type == "persons.person"} == {
        str(person_a.pk), str(_person_b.pk)}  # both stations of the district
    assert all(rows[i].at >= rows[i + 1].at for i in range(len(rows) - 1))
    assert "核对身份" in page.content.decode()
    assert AuditEvent.objects.filter(object_type="registry.auditevent").count() == before + 1


def test_filters_by_user_action_person_and_dates(client, supervisor, staff_a, trail):
    person_a, person_b = trail
    client.force_login(supervisor)
    by_user = client.get(URL, {"user": staff_a.pk}).context["rows"]
    assert by_user and {row.actor_id for row in by_user} == {staff_a.pk}
    unmasks = client.get(URL, {"action": "unmask"}).context["rows"]
    assert [row.object_id for row in unmasks] == [str(person_a.pk)]
    about_b = client.get(URL, {"person": person_b.pk})
    about = about_b.context["rows"]
    assert {row.object_id for row in about} == {str(person_b.pk)}
    assert {row.action for row in about} == {"create", "view"}
    assert person_b.document_masked in about_b.content.decode()
    assert person_b.document_number not in about_b.content.decode()
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    assert client.get(URL, {"since": tomorrow.isoformat()}).context["rows"] == []


def test_the_cursor_walks_the_whole_trail_once(client, admin_user, staff_a):
    AuditEvent.objects.bulk_create([AuditEvent(action=AuditAction.VIEW, actor_id=staff_a.pk,
                                                at=timezone.now() - datetime.timedelta(seconds=i % 7))
                                    for i in range(130)])
    client.force_login(admin_user)
    seen, cursor = [], None
    while True:
        page = client.get(URL, {"user": staff_a.pk, **({"after": cursor} if cursor else {})})
        seen += [row.pk for row in page.context["rows"]]
        cursor = page.context["next_cursor"]
        if not cursor:
            break
    assert len(seen) == len(set(seen)) == 130
    assert client.get(URL, {"after": "not-a-cursor"}).context["error"]


def test_another_districts_supervisor_staff_and_landlords_read_nothing(client, trail, staff_a):
    elsewhere = StationFactory(district=DistrictFactory(code="D99", name="别区"))
    other = make_user(RoleChoices.SUPERVISOR, username="other_sup", district=elsewhere.district)
    client.force_login(other)
    theirs = {event.pk for event in AuditEvent.objects.filter(object_type="persons.person")}
    assert not {row.pk for row in client.get(URL).context["rows"]} & theirs  # only their own sign-in
    person_a, _ = trail
    assert client.get(URL, {"person": person_a.pk}).context["rows"] == []
    assert not {row["id"] for row in token_client(other).get("/api/v1/audit-events/").json()["results"]} & theirs
    exported = client.get("/audit/events.csv")
    lines = b"".join(exported.streaming_content).decode("utf-8-sig").splitlines()
    assert exported.status_code == 200 and person_a.name not in "\n".join(lines)
    assert not [line for line in lines[1:] if "persons.person" in line or "查看" in line and "other_sup" not in line]
    for user in (staff_a, make_user(RoleChoices.LANDLORD, username="a_landlord")):
        client.force_login(user)
        assert client.get(URL).status_code == 403
        assert client.get("/audit/events.csv").status_code == 403
        assert token_client(user).get("/api/v1/audit-events/").status_code == 403


def test_the_export_holds_the_filtered_events_and_is_audited(client, supervisor, staff_a, trail):
    client.force_login(supervisor)
    answer = client.get("/audit/events.csv", {"user": staff_a.pk})
    assert answer.status_code == 200
    rows = list(csv.reader(io.StringIO(b"".join(answer.streaming_content).decode("utf-8-sig"))))
    assert len(rows) == 1 + 2  # the header, the view and the unmasking
    exported = AuditEvent.objects.filter(action=AuditAction.EXPORT, object_type="registry.auditevent").get()
    assert exported.changes == {"rows": 2, "filters": {"user": staff_a.pk}}


def test_the_api_lists_the_same_events_with_the_same_filters(supervisor, staff_a, trail):
    api = token_client(supervisor)
    answer = api.get("/api/v1/audit-events/", {"action": "unmask"})
    assert answer.status_code == 200
    assert [row["object_id"] for row in answer.json()["results"]] == [str(trail[0].pk)]
    assert api.get("/api/v1/audit-events/", {"action": "nonsense"}).status_code == 400


def test_a_users_activity_by_day_with_the_persons_they_read_masked_and_audited(client, supervisor, staff_a, trail):
    person_a, _ = trail
    client.force_login(supervisor)
    page = client.get(f"/audit/users/{staff_a.pk}/")
    assert page.status_code == 200
    today = page.context["chart"]["rows"][-1]
    assert today["day"] == timezone.localdate() and today["counts"][:2] == [1, 1]  # one view, one unmasking
    assert page.context["chart"]["bars"]  # drawn
    html = page.content.decode()
    assert person_a.document_masked in html and person_a.document_number not in html
    assert [row["reads"] for row in page.context["persons"]] == [2]
    assert AuditEvent.objects.filter(object_type="auth.user", object_id=str(staff_a.pk),
                                     actor_id=supervisor.pk).exists()
    assert 'style="' not in html  # the chart is drawn without inline style (CSP)


def test_a_users_activity_is_not_found_outside_the_readers_district(client, staff_a, trail):
    elsewhere = StationFactory(district=DistrictFactory(code="D97", name="远区"))
    other = make_user(RoleChoices.SUPERVISOR, username="far_sup", district=elsewhere.district)
    client.force_login(other)
    assert client.get(f"/audit/users/{staff_a.pk}/").status_code == 404
    client.force_login(staff_a)
    assert client.get(f"/audit/users/{staff_a.pk}/").status_code == 403


def test_a_persons_page_leads_a_supervisor_to_the_events_about_them(client, supervisor, staff_a, trail):
    person_a, _ = trail
    client.force_login(supervisor)
    page = client.get(f"/persons/{person_a.pk}/").content.decode()
    assert f"/audit/?person={person_a.pk}" in page
    client.force_login(staff_a)
    assert "/audit/?person=" not in client.get(f"/persons/{person_a.pk}/").content.decode()
