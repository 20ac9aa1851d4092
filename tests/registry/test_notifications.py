"""In-app notifications: the list (unread first), mark read, mark all read, the bell; only ever one's own."""

import datetime

import pytest
from django.urls import reverse
from django.utils import timezone

from housing.factories import LandlordFactory
from registry.factories import make_user
from registry.models import Notification
from registry.roles import RoleChoices

LIST = reverse("notifications:list")
READ_ALL = reverse("notifications:read_all")


@pytest.fixture(autouse=True)
def _english(client):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"


def note(user, key, *, title=None, read=False, minutes_ago=0, url=""):
    notification = Notification.objects.create(user=user, key=key, kind="verification_due",
                                               title=title or f"About {key}", url=url)
    Notification.objects.filter(pk=notification.pk).update(
        created_at=timezone.now() - datetime.timedelta(minutes=minutes_ago),
        read_at=timezone.now() if read else None)
    notification.refresh_from_db()
    return notification


def read_url(notification):
    return reverse("notifications:read", args=[notification.pk])


def test_anonymous_is_sent_to_login(client, staff_a):
    notification = note(staff_a, "k1")
    for response in (client.get(LIST), client.post(read_url(notification)), client.post(READ_ALL)):
        assert response.status_code == 302 and reverse("login") in response["Location"]
    notification.refresh_from_db()
    assert notification.read_at is None


def test_list_shows_only_the_users_own_notifications_unread_first(client, staff_a, staff_b):
    old_unread = note(staff_a, "old", title="Verification due at 幸福路12号", minutes_ago=300)
    new_read = note(staff_a, "new", title="Already seen", read=True, minutes_ago=1)
    note(staff_b, "theirs", title="Verification due at 西山路7号")
    client.force_login(staff_a)
    response = client.get(LIST)
    assert list(response.context["notifications"]) == [old_unread, new_read]
    body = response.content.decode()
    assert "幸福路12号" in body and "西山路7号" not in body
    assert "1 unread" in body


def test_landlords_see_their_own_notifications_too(client, community_a):
    user = make_user(RoleChoices.LANDLORD, username="ll")
    LandlordFactory(station=community_a.station, user=user)
    note(user, "confirm", title="Please confirm who lives at 幸福路12号")
    client.force_login(user)
    response = client.get(LIST)
    assert response.status_code == 200 and "Please confirm who lives at" in response.content.decode()


def test_mark_one_read(client, staff_a):
    first, second = note(staff_a, "a"), note(staff_a, "b")
    client.force_login(staff_a)
    response = client.post(read_url(first))
    assert response.status_code == 302 and response["Location"] == LIST
    first.refresh_from_db()
    second.refresh_from_db()
    assert first.read_at is not None and second.read_at is None


def test_open_marks_read_and_goes_to_the_page_it_is_about_but_never_off_site(client, staff_a):
    notification = note(staff_a, "a", url="/housing/properties/42/")
    client.force_login(staff_a)
    response = client.post(read_url(notification), {"next": notification.url})
    assert response["Location"] == "/housing/properties/42/"
    other = note(staff_a, "b")
    response = client.post(read_url(other), {"next": "https://evil.example/phish"})
    assert response["Location"] == LIST


def test_reading_again_keeps_the_first_read_time(client, staff_a):
    notification = note(staff_a, "a", read=True)
    first_read = notification.read_at
    client.force_login(staff_a)
    client.post(read_url(notification))
    notification.refresh_from_db()
    assert notification.read_at == first_read


def test_another_users_notification_is_404_and_stays_unread(client, staff_a, staff_b):
    theirs = note(staff_b, "theirs")
    client.force_login(staff_a)
    assert client.post(read_url(theirs)).status_code == 404
    theirs.refresh_from_db()
    assert theirs.read_at is None


def test_mark_read_is_post_only(client, staff_a):
    notification = note(staff_a, "a")
    client.force_login(staff_a)
    assert client.get(read_url(notification)).status_code == 405
    assert client.get(READ_ALL).status_code == 405
    notification.refresh_from_db()
    assert notification.read_at is None


def test_mark_all_read_touches_only_own_unread(client, staff_a, staff_b):
    mine = [note(staff_a, f"m{n}") for n in range(3)]
    earlier = note(staff_a, "seen", read=True)
    theirs = note(staff_b, "theirs")
    client.force_login(staff_a)
    response = client.post(READ_ALL, follow=True)
    assert "3 notifications marked as read." in response.content.decode()
    assert not Notification.objects.filter(pk__in=[n.pk for n in mine], read_at__isnull=True).exists()
    assert Notification.objects.get(pk=earlier.pk).read_at == earlier.read_at
    assert Notification.objects.get(pk=theirs.pk).read_at is None


def test_bell_in_the_navbar_counts_own_unread_and_links_to_the_list(client, staff_a, staff_b):
    note(staff_a, "a")
    note(staff_a, "b")
    note(staff_a, "c", read=True)
    note(staff_b, "theirs")
    client.force_login(staff_a)
    body = client.get(reverse("home")).content.decode()
    assert f'href="{LIST}"' in body and "Notifications: 2 unread" in body
    client.post(READ_ALL)
    body = client.get(reverse("home")).content.decode()
    assert "Notifications: 0 unread" in body and "text-bg-danger" not in body


def test_the_bell_costs_one_count_query(client, staff_a, django_assert_num_queries):
    from django.test import RequestFactory

    from registry.context_processors import notifications

    note(staff_a, "a")
    request = RequestFactory().get("/")
    request.user = staff_a
    context = notifications(request)
    with django_assert_num_queries(1):
        assert context["unread_notifications"]() == 1
        assert context["unread_notifications"]() == 1  # asked twice by the template, counted once
    request.user = type("Anonymous", (), {"is_authenticated": False})()
    assert notifications(request) == {}


def test_list_query_count_is_the_same_for_3_and_20_notifications(client, staff_a, django_assert_num_queries):
    for n in range(3):
        note(staff_a, f"a{n}")
    client.force_login(staff_a)
    client.get(LIST)  # warm the session cache
    # user with profile (scope), count, rows, unread (the bell and the page share one count); the session
    # and the permissions come from the cache
    with django_assert_num_queries(4):
        response = client.get(LIST)
    assert len(response.context["notifications"]) == 3
    for n in range(17):
        note(staff_a, f"b{n}", read=n % 2 == 0)
    with django_assert_num_queries(4):
        response = client.get(LIST)
    assert len(response.context["notifications"]) == 20


def test_list_is_paginated(client, staff_a):
    for n in range(30):
        note(staff_a, f"k{n}", minutes_ago=n)
    client.force_login(staff_a)
    first = client.get(LIST)
    assert len(first.context["notifications"]) == 25 and first.context["page_obj"].has_next()
    assert len(client.get(LIST, {"page": 2}).context["notifications"]) == 5
