import datetime

import pytest
from django.urls import reverse

from housing.factories import ResidenceFactory
from registry.factories import make_user
from registry.roles import RoleChoices

TODAY = datetime.date.today()


@pytest.fixture
def residence_a(community_a):
    return ResidenceFactory(unit__property__community=community_a, start_date=TODAY - datetime.timedelta(days=60),
                            reason="work")


@pytest.fixture
def residence_b(community_b):
    return ResidenceFactory(unit__property__community=community_b)


@pytest.mark.parametrize("name", ["end", "correct"])
def test_anonymous_goes_to_login(client, residence_a, name):
    response = client.get(reverse(f"residences:{name}", args=[residence_a.pk]))
    assert response.status_code == 302 and reverse("login") in response["Location"]


@pytest.mark.parametrize("name", ["end", "correct"])
def test_other_station_gets_404(client, staff_b, residence_a, name):
    client.force_login(staff_b)
    assert client.get(reverse(f"residences:{name}", args=[residence_a.pk])).status_code == 404
    assert client.post(reverse(f"residences:{name}", args=[residence_a.pk]), {}).status_code == 404


@pytest.mark.parametrize("name", ["end", "correct"])
def test_supervisor_and_landlord_may_not_change_registrations(client, supervisor, residence_a, name):
    client.force_login(supervisor)
    assert client.get(reverse(f"residences:{name}", args=[residence_a.pk])).status_code == 403
    client.force_login(make_user(RoleChoices.LANDLORD, username="ll"))
    assert client.get(reverse(f"residences:{name}", args=[residence_a.pk])).status_code == 403


def test_deregister_ends_the_residence_and_returns_to_the_person(client, staff_a, residence_a):
    client.force_login(staff_a)
    response = client.post(reverse("residences:end", args=[residence_a.pk]),
                           {"end_date": TODAY.isoformat(), "end_reason": "left_district", "note": "退租",
                            "version": residence_a.version})
    assert response.status_code == 302
    assert response["Location"] == reverse("persons:person_detail", args=[residence_a.person_id])
    residence_a.refresh_from_db()
    assert (residence_a.status, residence_a.end_date) == ("ended", TODAY)


def test_deregister_with_a_date_before_move_in_names_the_field_and_changes_nothing(client, staff_a, residence_a):
    client.force_login(staff_a)
    response = client.post(reverse("residences:end", args=[residence_a.pk]),
                           {"end_date": "2000-01-01", "end_reason": "other", "version": residence_a.version})
    assert response.status_code == 200 and "end_date" in response.context["form"].errors
    residence_a.refresh_from_db()
    assert residence_a.status == "active"


def test_deregister_from_a_stale_page_is_refused(client, staff_a, residence_a):
    client.force_login(staff_a)
    stale_version = residence_a.version
    client.post(reverse("residences:correct", args=[residence_a.pk]),
                {"start_date": residence_a.start_date.isoformat(), "reason": "study",
                 "reason_for_change": "录入错误", "version": stale_version})
    response = client.post(reverse("residences:end", args=[residence_a.pk]),
                           {"end_date": TODAY.isoformat(), "end_reason": "other", "version": stale_version})
    assert response.status_code == 200 and response.context["form"].non_field_errors()
    residence_a.refresh_from_db()
    assert (residence_a.status, residence_a.reason) == ("active", "study")


def test_correction_requires_a_reason_and_keeps_the_old_value_in_the_audit(client, staff_a, residence_a):
    from registry.models import AuditEvent

    client.force_login(staff_a)
    url = reverse("residences:correct", args=[residence_a.pk])
    data = {"start_date": (residence_a.start_date - datetime.timedelta(days=3)).isoformat(), "reason": "work",
            "version": residence_a.version}
    response = client.post(url, data)
    assert "reason_for_change" in response.context["form"].errors
    assert client.post(url, {**data, "reason_for_change": "按租房合同更正"}).status_code == 302
    residence_a.refresh_from_db()
    event = AuditEvent.objects.filter(object_type="housing.residence", object_id=str(residence_a.pk),
                                      action="update").latest("id")
    assert event.changes["start_date"][1] == residence_a.start_date.isoformat()
    assert event.actor_username == "staff_a"
