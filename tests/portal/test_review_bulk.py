"""The review queue (issue 17, point 5): select all on the page, reject the selected with one reason (every
owner told, with the reason; all or nothing), the submitter shown as the owner and property, filters by property
and kind shared with the API."""

import datetime

import pytest
from django.core import mail
from django.urls import reverse
from rest_framework.test import APIClient

from housing.factories import LandlordFactory, PropertyFactory, UnitFactory
from persons.identity import make_resident_id
from portal.models import Submission
from portal.services import submission_report_arrival
from registry.factories import make_user
from registry.models import Notification
from registry.roles import RoleChoices

TODAY = datetime.date.today()
QUEUE = reverse("review:queue")


def _arrival(prop, owner_user, n: int) -> Submission:
    return submission_report_arrival(
        prop=prop, unit=prop.units.first(), actor=owner_user, document_type="resident_id",
        document_number=make_resident_id(birth_date=datetime.date(1990, 1, 1 + n), sex="M", region="110101"),
        name="张三", date=TODAY, reason="work")


@pytest.fixture
def reports(landlord_a, rental_a, employer_a, dormitory_a, community_a):
    """Reports from three owners of station A: landlord A (two), an employer (one), another landlord (one)."""
    other_user = make_user(RoleChoices.LANDLORD, username="landlord_c")
    other_user.email = "c@example.org"
    other_user.save(update_fields=["email"])
    other = LandlordFactory(station=community_a.station, user=other_user, name="房东丙")
    other_prop = PropertyFactory(community=community_a, landlord=other, address="甲三路3号")
    UnitFactory(property=other_prop)
    return [_arrival(rental_a, landlord_a.user, 1), _arrival(rental_a, landlord_a.user, 2),
            _arrival(dormitory_a, employer_a.user, 3), _arrival(other_prop, other_user, 4)]


def test_bulk_reject_tells_each_owner_with_the_reason(client, staff_a, reports, landlord_a, employer_a,
                                                      django_capture_on_commit_callbacks):
    client.force_login(staff_a)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("review:bulk_reject"), {
            "selected": [s.pk for s in reports], "rejection_reason": "照片不清晰，请重新上报"})
    assert response.status_code == 302
    assert set(Submission.objects.values_list("status", "rejection_reason")) == {("rejected", "照片不清晰，请重新上报")}
    assert set(Submission.objects.values_list("decided_by", flat=True)) == {staff_a.pk}
    # The same notification as a single rejection: one per report, to each report's sender, with the reason.
    notes = Notification.objects.filter(kind="submission_decided")
    assert sorted(notes.values_list("user__username", flat=True)) == [
        "employer_a", "landlord_a", "landlord_a", "landlord_c"]
    assert all("照片不清晰，请重新上报" in note.body for note in notes)
    assert {s.pk for s in reports} == {int(note.key.split(":")[1]) for note in notes}
    assert sorted(m.to[0] for m in mail.outbox) == ["c@example.org", "landlord_a@example.org",
                                                    "landlord_a@example.org"]


def test_bulk_reject_is_all_or_nothing_and_names_what_could_not_be_rejected(client, staff_a, reports):
    decided = reports[1]
    Submission.objects.filter(pk=decided.pk).update(status="withdrawn")
    client.force_login(staff_a)
    response = client.post(reverse("review:bulk_reject"), {
        "selected": [s.pk for s in reports], "rejection_reason": "不符"}, follow=True)
    assert Submission.objects.filter(status="rejected").count() == 0
    assert not Notification.objects.exists()
    messages = [str(m) for m in response.context["messages"]]
    assert len(messages) == 2 and " 1 " in messages[0] and str(decided.date) in messages[1], messages


def test_bulk_reject_needs_a_reason_and_a_selection(client, staff_a, reports):
    client.force_login(staff_a)
    client.post(reverse("review:bulk_reject"), {"selected": [reports[0].pk], "rejection_reason": "  "})
    client.post(reverse("review:bulk_reject"), {"rejection_reason": "不符"})
    assert not Submission.objects.filter(status="rejected").exists()


def test_bulk_reject_of_another_stations_reports_touches_nothing(client, staff_b, reports):
    client.force_login(staff_b)
    client.post(reverse("review:bulk_reject"), {"selected": [s.pk for s in reports], "rejection_reason": "不符"})
    assert not Submission.objects.filter(status="rejected").exists()


@pytest.mark.parametrize("name", ["supervisor", "landlord_a"])
def test_bulk_reject_is_for_those_who_decide(client, request, reports, name):
    user = request.getfixturevalue(name)
    client.force_login(getattr(user, "user", user))
    assert client.post(reverse("review:bulk_reject"), {"selected": [reports[0].pk],
                                                       "rejection_reason": "不符"}).status_code == 403
    assert not Submission.objects.filter(status="rejected").exists()


def test_the_queue_offers_select_all_and_shows_the_owner_and_property_not_the_user(client, staff_a, reports,
                                                                                   employer_a, dormitory_a):
    client.force_login(staff_a)
    html = client.get(QUEUE).content.decode()
    assert 'data-select-all="bulk-form"' in html and "js/review-select-all.js" in html
    assert "<script>" not in html  # the CSP allows no inline script
    assert html.count('name="selected"') == 4
    assert "房东甲" in html and employer_a.name in html and "房东丙" in html and dormitory_a.address in html
    assert "landlord_a" not in html and "employer_a" not in html


def test_the_queue_filters_by_property_and_kind_like_the_api(client, staff_a, reports, rental_a, dormitory_a):
    client.force_login(staff_a)
    api = APIClient()
    api.force_authenticate(staff_a)
    for query, expected in [({"property": rental_a.pk}, {reports[0].pk, reports[1].pk}),
                            ({"property": dormitory_a.pk}, {reports[2].pk}),
                            ({"property": rental_a.pk, "kind": "arrival"}, {reports[0].pk, reports[1].pk}),
                            ({"property": rental_a.pk, "kind": "departure"}, set())]:
        page = client.get(QUEUE, query)
        assert {s.pk for s, _check in page.context["rows"]} == expected, query
        answer = api.get("/api/v1/submissions/", query)
        assert answer.status_code == 200 and {row["id"] for row in answer.json()["results"]} == expected, query
    html = client.get(QUEUE).content.decode()
    select = html[html.index('id="id_property"'):]
    select = select[:select.index("</select>")]
    assert rental_a.address in select and dormitory_a.address in select


def test_another_stations_property_is_refused_as_a_filter(client, staff_b, reports, rental_a):
    client.force_login(staff_b)
    page = client.get(QUEUE, {"property": rental_a.pk})
    assert "property" in page.context["filterset"].form.errors and not page.context["rows"]
    api = APIClient()
    api.force_authenticate(staff_b)
    assert api.get("/api/v1/submissions/", {"property": rental_a.pk}).status_code == 400


def test_queue_query_count_does_not_grow_with_rows_of_several_owners(client, staff_a, reports, community_a):
    client.force_login(staff_a)
    client.get(QUEUE)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as small:
        client.get(QUEUE)
    for n in range(10):
        owner_user = make_user(RoleChoices.LANDLORD, username=f"owner{n}")
        prop = PropertyFactory(community=community_a,
                               landlord=LandlordFactory(station=community_a.station, user=owner_user))
        UnitFactory(property=prop)
        _arrival(prop, owner_user, 10 + n)
    client.get(QUEUE)  # new accounts were made: warm the permission cache again
    with CaptureQueriesContext(connection) as large:
        response = client.get(QUEUE)
    assert len(response.context["rows"]) == 14
    assert len(large.captured_queries) == len(small.captured_queries)
