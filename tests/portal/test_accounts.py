"""Portal accounts: officers invite landlords and employers, invitees set a password once, and anyone
resets a forgotten password by email; logins and reset requests are rate-limited."""

import re

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from housing.factories import LandlordFactory, PropertyFactory
from housing.models import Property
from persons.factories import EmployerFactory
from portal.accounts import portal_account_deactivate, portal_account_invite
from registry.models import AuditAction, AuditEvent, Profile
from registry.roles import RoleChoices

User = get_user_model()
NEW_PASSWORD = "Qiao-Men-2026!"
LINK = re.compile(r"https?://[^/\s]+(/portal/accounts/(?:invite|reset)/[^/\s]+/[^/\s]+/)")


@pytest.fixture(autouse=True)
def _english_and_fresh_cache(client, settings):
    # The product defaults to Chinese; these tests read the English source strings.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "portal-accounts-tests"}}
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def new_landlord(station_a, community_a):
    """A landlord of station A with two properties and no portal account yet."""
    landlord = LandlordFactory(station=station_a, name="钱多多", phone="138 0000 2222")
    PropertyFactory.create_batch(2, community=community_a, landlord=landlord)
    return landlord


@pytest.fixture
def new_employer(station_a, community_a):
    from housing.models import PropertyTypeChoices

    employer = EmployerFactory(station=station_a, contact_name="孙经理", contact_phone="13900003333")
    PropertyFactory(community=community_a, landlord=None, employer=employer,
                    property_type=PropertyTypeChoices.DORMITORY)
    return employer


def _invite_url(owner, kind="landlord"):
    return reverse(f"portal:{kind}_invite", args=[owner.pk])


def _invite(client, owner, kind="landlord", email="qian@example.org", capture=None):
    """POST the invitation form as whoever ``client`` is logged in as, running on-commit callbacks."""
    with capture(execute=True):
        return client.post(_invite_url(owner, kind), {"email": email, "language": "en"})


def _link_path(message) -> str:
    return LINK.search(message.body).group(1)


def _without_csrf(content: bytes) -> bytes:
    content = re.sub(rb'"X-CSRFToken": "[^"]*"', b"", content)
    return re.sub(rb'name="csrfmiddlewaretoken" value="[^"]*"', b"", content)


def _set_password(client, path):
    """Follow a one-time link as the invitee and set the password; returns the final response."""
    response = client.get(path)
    assert response.status_code == 302  # the token moves into the session; the URL no longer holds it
    return client.post(response.url, {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD}, follow=True)


# ---- invitation, end to end -----------------------------------------------------------------------


def test_invited_landlord_sets_a_password_once_lands_on_the_portal_and_sees_only_their_properties(
        client, officer_a, new_landlord, rental_a, django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    response = _invite(client, new_landlord, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    [message] = mail.outbox
    assert message.to == ["qian@example.org"]
    path = _link_path(message)
    # The officer sees the same link once, to pass it on by SMS.
    assert response.context["link"].endswith(path)
    assert "13800002222" in message.body  # the user name is the normalised phone

    new_landlord.refresh_from_db()
    user = new_landlord.user
    assert user.username == "13800002222" and not user.has_usable_password() and user.is_active
    assert user.profile.role == RoleChoices.LANDLORD

    invitee = Client(HTTP_ACCEPT_LANGUAGE="en")
    final = _set_password(invitee, path)
    assert final.redirect_chain[-1][0] == reverse("portal:home") == "/portal/"
    assert final.status_code == 200
    assert int(invitee.session["_auth_user_id"]) == user.pk
    user.refresh_from_db()
    assert user.check_password(NEW_PASSWORD)

    # The same link again: refused, with the page that says what to do.
    again = Client(HTTP_ACCEPT_LANGUAGE="en").get(path)
    assert again.status_code == 200 and again.context["validlink"] is False
    assert "expired or was already used; ask your community officer for a new one" in again.content.decode()

    # Only their own properties: not landlord A's flat, in the same community.
    assert set(Property.objects.visible_to(user)) == set(new_landlord.properties.all())
    assert len(new_landlord.properties.all()) == 2
    other = invitee.get(reverse("housing:property_detail", args=[rental_a.pk]))
    assert other.status_code in (403, 404)


def test_invitation_is_in_the_audit_trail(client, officer_a, new_landlord, django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    _invite(client, new_landlord, capture=django_capture_on_commit_callbacks)
    event = AuditEvent.objects.filter(object_type="housing.landlord", object_id=str(new_landlord.pk),
                                      changes__has_key="portal_account").get()
    assert event.actor_id == officer_a.pk
    assert event.action == AuditAction.UPDATE
    assert event.changes["portal_account"] == ["none", "invited"]
    assert event.station_id == new_landlord.station_id


def test_resending_an_invitation_reuses_the_account_and_voids_the_first_link(
        client, officer_a, new_landlord, django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    _invite(client, new_landlord, capture=django_capture_on_commit_callbacks)
    _invite(client, new_landlord, email="qian2@example.org", capture=django_capture_on_commit_callbacks)
    first, second = (_link_path(m) for m in mail.outbox)
    new_landlord.refresh_from_db()
    assert User.objects.filter(username="13800002222").count() == 1
    assert new_landlord.user.email == "qian2@example.org"
    assert Client().get(first).status_code == 200  # the "no longer works" page, not a redirect to the form
    assert Client().get(second).status_code == 302


def test_invitation_email_is_in_the_language_chosen(client, officer_a, new_landlord,
                                                    django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    with django_capture_on_commit_callbacks(execute=True):
        client.post(_invite_url(new_landlord), {"email": "qian@example.org", "language": "zh-hans"})
    [message] = mail.outbox
    assert "出租" in message.subject or "账号" in message.subject
    assert "Choose your password" not in message.body


def test_employer_invitation_works_the_same(client, officer_a, new_employer, dormitory_a,
                                            django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    response = _invite(client, new_employer, kind="employer", email="hr@example.org",
                       capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    new_employer.refresh_from_db()
    user = new_employer.user
    assert user.username == "13900003333"
    assert user.profile.role == RoleChoices.EMPLOYER

    invitee = Client(HTTP_ACCEPT_LANGUAGE="en")
    final = _set_password(invitee, _link_path(mail.outbox[0]))
    assert final.redirect_chain[-1][0] == "/portal/"
    assert set(Property.objects.visible_to(user)) == set(new_employer.properties.all())
    assert invitee.get(reverse("housing:property_detail", args=[dormitory_a.pk])).status_code in (403, 404)


def test_officer_sees_the_invitation_form_with_the_phone_that_becomes_the_user_name(client, officer_a,
                                                                                     new_landlord, landlord_a):
    client.force_login(officer_a)
    response = client.get(_invite_url(new_landlord))
    assert response.status_code == 200
    body = response.content.decode()
    assert "13800002222" in body and 'name="email"' in body and "No account" in body
    # An owner whose account is in use gets no form, only the hint about password reset.
    body = client.get(_invite_url(landlord_a)).content.decode()
    assert 'name="email"' not in body and "already has a portal account" in body


# ---- who may invite ---------------------------------------------------------------------------------


def test_staff_who_are_not_officers_get_403(client, staff_a, new_landlord):
    client.force_login(staff_a)
    assert client.get(_invite_url(new_landlord)).status_code == 403
    assert client.post(_invite_url(new_landlord), {"email": "x@example.org", "language": "en"}).status_code == 403
    assert client.post(reverse("portal:landlord_deactivate", args=[new_landlord.pk])).status_code == 403
    new_landlord.refresh_from_db()
    assert new_landlord.user is None


def test_officer_of_another_station_gets_404(client, station_b, new_landlord, new_employer):
    from registry.factories import make_user

    officer_b = make_user(RoleChoices.OFFICER, username="officer_b", station=station_b)
    client.force_login(officer_b)
    assert client.get(_invite_url(new_landlord)).status_code == 404
    assert client.get(_invite_url(new_employer, "employer")).status_code == 404
    assert client.post(_invite_url(new_landlord), {"email": "x@example.org", "language": "en"}).status_code == 404
    assert client.post(reverse("portal:landlord_deactivate", args=[new_landlord.pk])).status_code == 404
    assert not mail.outbox


def test_anonymous_is_sent_to_login(client, new_landlord):
    url = _invite_url(new_landlord)
    response = client.get(url)
    assert response.status_code == 302
    assert response.url.startswith(reverse("login")) and "next=" in response.url


def test_landlord_account_gets_403(client, landlord_a, new_landlord):
    client.force_login(landlord_a.user)
    assert client.get(_invite_url(new_landlord)).status_code == 403
    assert client.get(_invite_url(landlord_a)).status_code == 403


# ---- what the form refuses ---------------------------------------------------------------------------


def test_invalid_email_shows_the_field_error_and_creates_nothing(client, officer_a, new_landlord,
                                                                 django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    users = User.objects.count()
    response = _invite(client, new_landlord, email="not-an-address", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert response.context["form"].errors["email"] == ["Email: enter an address such as name@example.com."]
    assert User.objects.count() == users and not mail.outbox


def test_employer_without_contact_phone_cannot_be_invited(client, officer_a, station_a,
                                                          django_capture_on_commit_callbacks):
    employer = EmployerFactory(station=station_a, contact_phone="")
    client.force_login(officer_a)
    users = User.objects.count()
    response = _invite(client, employer, kind="employer", capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    body = response.content.decode()
    assert "Contact phone: the employer has no contact phone" in body
    assert User.objects.count() == users and not mail.outbox
    employer.refresh_from_db()
    assert employer.user is None


def test_phone_already_used_as_a_user_name_is_refused(client, officer_a, new_landlord,
                                                      django_capture_on_commit_callbacks):
    User.objects.create_user(username="13800002222", password="whatever-2026")
    client.force_login(officer_a)
    users = User.objects.count()
    response = _invite(client, new_landlord, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "The user name 13800002222 (this phone number) already belongs to another account" in (
        response.content.decode())
    assert User.objects.count() == users and not mail.outbox
    new_landlord.refresh_from_db()
    assert new_landlord.user is None
    assert not AuditEvent.objects.filter(changes__has_key="portal_account").exists()


def test_owner_with_an_active_account_is_told_to_reset_the_password(client, officer_a, landlord_a,
                                                                    django_capture_on_commit_callbacks):
    client.force_login(officer_a)
    response = _invite(client, landlord_a, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    assert "already has a portal account" in response.content.decode()
    assert not mail.outbox
    landlord_a.user.refresh_from_db()
    assert landlord_a.user.check_password("demo-pass-2026")


# ---- detail pages ------------------------------------------------------------------------------------


def test_landlord_page_shows_account_status_and_controls_to_officers_only(
        client, officer_a, staff_a, new_landlord, landlord_a, django_capture_on_commit_callbacks):
    detail = reverse("housing:landlord_detail", args=[new_landlord.pk])
    client.force_login(officer_a)
    body = client.get(detail).content.decode()
    assert "No account" in body and "Invite to the portal" in body
    _invite(client, new_landlord, capture=django_capture_on_commit_callbacks)
    body = client.get(detail).content.decode()
    assert "Invited, not yet accepted" in body and "Resend invitation" in body and "Remove portal access" in body
    body = client.get(reverse("housing:landlord_detail", args=[landlord_a.pk])).content.decode()
    assert "Active" in body and "Never logged in" in body and "Invite to the portal" not in body

    client.force_login(staff_a)
    body = client.get(detail).content.decode()
    assert "Invited, not yet accepted" in body
    assert "Resend invitation" not in body and "Remove portal access" not in body


def test_employer_page_shows_deactivated_account_and_offers_a_new_invitation(client, officer_a, employer_a):
    portal_account_deactivate(owner=employer_a, actor=officer_a)
    client.force_login(officer_a)
    body = client.get(reverse("persons:employer_detail", args=[employer_a.pk])).content.decode()
    assert "Deactivated" in body and "Invite to the portal" in body
    assert reverse("portal:employer_invite", args=[employer_a.pk]) in body


# ---- deactivation -------------------------------------------------------------------------------------


def test_deactivated_account_cannot_log_in_and_sees_nothing(client, officer_a, landlord_a, rental_a):
    user = landlord_a.user
    assert Property.objects.visible_to(user).exists()
    client.force_login(officer_a)
    response = client.post(reverse("portal:landlord_deactivate", args=[landlord_a.pk]))
    assert response.status_code == 302
    assert response.url == reverse("housing:landlord_detail", args=[landlord_a.pk])

    user = User.objects.get(pk=user.pk)
    assert not user.is_active
    landlord_a.refresh_from_db()
    assert landlord_a.user_id == user.pk  # still linked: history kept
    assert not Property.objects.visible_to(user).exists()
    login = Client().post(reverse("login"), {"username": "landlord_a", "password": "demo-pass-2026"})
    assert login.status_code == 200 and "_auth_user_id" not in login.wsgi_request.session
    event = AuditEvent.objects.filter(object_type="housing.landlord", changes__has_key="portal_account").get()
    assert event.changes["portal_account"] == ["active", "deactivated"] and event.actor_id == officer_a.pk


def test_deactivation_is_post_only(client, officer_a, landlord_a):
    client.force_login(officer_a)
    assert client.get(reverse("portal:landlord_deactivate", args=[landlord_a.pk])).status_code == 405
    landlord_a.user.refresh_from_db()
    assert landlord_a.user.is_active


def test_an_unused_invitation_stops_working_once_access_is_removed(officer_a, new_landlord,
                                                                   django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        user, link = portal_account_invite(owner=new_landlord, email="qian@example.org", actor=officer_a)
    portal_account_deactivate(owner=new_landlord, actor=officer_a)
    response = Client().get(link)
    assert response.status_code == 200 and response.context["validlink"] is False


def test_a_deactivated_owner_can_be_invited_again(officer_a, landlord_a, django_capture_on_commit_callbacks):
    old_user = landlord_a.user
    portal_account_deactivate(owner=landlord_a, actor=officer_a)
    with django_capture_on_commit_callbacks(execute=True):
        user, _link = portal_account_invite(owner=landlord_a, email="a@example.org", actor=officer_a)
    assert user.pk == old_user.pk and user.is_active and not user.has_usable_password()
    assert Profile.objects.get(user=user).role == RoleChoices.LANDLORD
    assert len(mail.outbox) == 1


# ---- password reset by email --------------------------------------------------------------------------


def test_password_reset_emails_a_link_that_works_once(client, landlord_a):
    landlord_a.user.email = "a@example.org"
    landlord_a.user.save()
    response = client.post(reverse("portal:password_reset"), {"email": "A@example.org"})
    assert response.status_code == 302 and response.url == reverse("portal:password_reset_done")
    [message] = mail.outbox
    assert message.to == ["a@example.org"]
    path = _link_path(message)
    assert path.startswith("/portal/accounts/reset/")

    final = _set_password(Client(HTTP_ACCEPT_LANGUAGE="en"), path)
    assert final.redirect_chain[-1][0] == reverse("portal:password_reset_complete")
    landlord_a.user.refresh_from_db()
    assert landlord_a.user.check_password(NEW_PASSWORD)
    again = Client().get(path)
    assert again.status_code == 200 and again.context["validlink"] is False
    login = Client().post(reverse("login"), {"username": "landlord_a", "password": NEW_PASSWORD})
    assert login.status_code == 302


def test_password_reset_answers_the_same_for_an_unknown_address(client, landlord_a):
    known_user = landlord_a.user
    known_user.email = "a@example.org"
    known_user.save()
    known = client.post(reverse("portal:password_reset"), {"email": "a@example.org"}, follow=True)
    unknown = client.post(reverse("portal:password_reset"), {"email": "nobody@example.org"}, follow=True)
    assert len(mail.outbox) == 1
    assert known.redirect_chain == unknown.redirect_chain == [(reverse("portal:password_reset_done"), 302)]
    assert _without_csrf(known.content) == _without_csrf(unknown.content)


def test_password_reset_requests_are_limited_per_email_address(client, landlord_a, settings):
    settings.PORTAL_PASSWORD_RESET_RATE_PER_EMAIL = "3/h"
    landlord_a.user.email = "a@example.org"
    landlord_a.user.save()
    url = reverse("portal:password_reset")
    statuses = []
    for n in range(4):
        # A different IP each time: the per-address limit holds whatever the IP.
        statuses.append(client.post(url, {"email": "a@example.org"}, REMOTE_ADDR=f"10.0.0.{n + 1}").status_code)
    assert statuses == [302, 302, 302, 429]
    assert len(mail.outbox) == 3
    limited = client.post(url, {"email": "A@Example.org"}, REMOTE_ADDR="10.0.0.9")
    assert limited.status_code == 429 and "Too many reset links" in limited.content.decode()
    # Another address is not affected.
    assert client.post(url, {"email": "b@example.org"}, REMOTE_ADDR="10.0.0.10").status_code == 302


def test_password_reset_requests_are_limited_per_ip(client, settings, db):
    settings.PORTAL_PASSWORD_RESET_RATE_PER_IP = "2/h"
    url = reverse("portal:password_reset")
    statuses = [client.post(url, {"email": f"user{n}@example.org"}).status_code for n in range(3)]
    assert statuses == [302, 302, 429]
    assert client.post(url, {"email": "x@example.org"}, REMOTE_ADDR="10.9.9.9").status_code == 302


def test_login_page_links_to_password_reset(client):
    body = client.get(reverse("login")).content.decode()
    assert reverse("portal:password_reset") in body and "Forgot your password?" in body


# ---- login rate limiting (django-axes) ----------------------------------------------------------------


def test_portal_account_is_locked_out_after_too_many_failures_even_with_the_right_password(
        client, landlord_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    login = reverse("login")
    for _ in range(3):
        response = client.post(login, {"username": "landlord_a", "password": "wrong-password"})
        assert "_auth_user_id" not in client.session
    response = client.post(login, {"username": "landlord_a", "password": "demo-pass-2026"})
    assert response.status_code == 429
    assert "Login temporarily blocked" in response.content.decode()
    assert "_auth_user_id" not in client.session
    # The lockout is per user name and address: another account from this address still logs in.
    other = Client(HTTP_ACCEPT_LANGUAGE="en")
    User.objects.create_user(username="13700001111", password=NEW_PASSWORD)
    assert other.post(login, {"username": "13700001111", "password": NEW_PASSWORD}).status_code == 302
