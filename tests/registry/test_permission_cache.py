"""Permissions are cached between requests, and a change of role or of a role's rights applies at once."""

from django.contrib.auth.models import Group, Permission
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from registry.factories import make_user
from registry.roles import RoleChoices

PERSONS = reverse("persons:person_list")


def test_a_second_request_reads_no_permissions(client, staff_a):
    client.force_login(staff_a)
    client.get(PERSONS)
    with CaptureQueriesContext(connection) as captured:
        assert client.get(PERSONS).status_code == 200
    assert not [q for q in captured.captured_queries if "auth_permission" in q["sql"]]


def test_a_role_change_applies_to_the_next_request(client, station_a):
    user = make_user(RoleChoices.STAFF, username="promoted", station=station_a)
    client.force_login(user)
    permits = reverse("patrol:permit_list")
    client.get(PERSONS)
    assert not client.get(PERSONS).wsgi_request.user.has_perm("patrol.add_residencepermit")
    user.profile.role = RoleChoices.OFFICER  # same station; officers issue residence permits
    user.profile.save()
    assert client.get(permits).wsgi_request.user.has_perm("patrol.add_residencepermit")


def test_taking_a_right_from_a_role_applies_to_the_next_request(client, staff_a):
    client.force_login(staff_a)
    assert client.get(PERSONS).status_code == 200
    Group.objects.get(name=RoleChoices.STAFF).permissions.remove(Permission.objects.get(codename="view_person"))
    assert client.get(PERSONS).status_code == 403
