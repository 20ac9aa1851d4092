"""Passwords (issue 14): the rules a new password meets (station accounts 12 characters, portal accounts 8, the
common-password check, none of the last 5), the change page, and the administrator's one-time link for a
station account. A reset or a change ends the user's other sessions and revokes their API tokens."""

import datetime
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core import mail
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from qsessions.models import Session

from registry.factories import make_user
from registry.lockout import address_failures
from registry.models import ApiToken, AuditAction, AuditEvent, PasswordHistory
from registry.passwords import MinimumLengthByRoleValidator, station_reset_tokens
from registry.roles import RoleChoices
from registry.services import api_token_create

OLD = "demo-pass-2026"  # make_user's password
NEW = "Lantern-Harbour-77"
CHANGE = "/account/password/"


@pytest.fixture(autouse=True)
def _english_and_fresh_cache(client, settings):
    # Failures are counted per address in the cache: each test starts from none.
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "password-tests"}}
    cache.clear()
    yield
    cache.clear()


def english() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def change(client, current=OLD, new=NEW, again=None):
    return client.post(CHANGE, {"old_password": current, "new_password1": new,
                                "new_password2": new if again is None else again})


def field_errors(response, field) -> list[str]:
    return list(response.context["form"].errors.get(field, []))


def set_passwords(user, *passwords):
    """Give ``user`` these passwords one after the other, as any form would (each recorded in the history)."""
    for password in passwords:
        user.set_password(password)
        user.save()


# --- the rules --------------------------------------------------------------------------------------------

def test_the_change_page_is_reached_by_its_name_under_account():
    assert reverse("password:change") == CHANGE


@pytest.mark.parametrize("role", [RoleChoices.STAFF, RoleChoices.OFFICER, RoleChoices.SUPERVISOR, RoleChoices.ADMIN])
def test_station_accounts_need_twelve_characters(role, station_a, district):
    user = make_user(role, username=f"u-{role}", station=station_a, district=district)
    with pytest.raises(ValidationError) as refused:
        validate_password("Kestrel-87x", user)  # 11
    assert refused.value.messages == ["New password: too short. Station accounts need at least 12 characters."]
    validate_password("Kestrel-87xy", user)  # 12


def test_portal_accounts_keep_eight_characters(landlord_a):
    user = landlord_a.user
    validate_password("Kes-87xy", user)
    with pytest.raises(ValidationError) as refused:
        validate_password("Kes-87x", user)
    assert refused.value.messages == ["New password: too short. Use at least 8 characters."]


def test_a_user_whose_role_is_not_known_yet_gets_the_station_rule(db):
    with pytest.raises(ValidationError):
        validate_password("Kestrel-87x", None)


@hypothesis_settings(max_examples=60, deadline=None)
@given(password=st.text(alphabet=st.characters(codec="utf-8", exclude_categories=["Cs", "Cc"]), max_size=30))
def test_without_a_known_role_a_password_is_too_short_exactly_below_twelve_characters(password):
    try:
        MinimumLengthByRoleValidator().validate(password, None)
    except ValidationError as exc:
        assert len(password) < 12 and exc.code == "password_too_short"
    else:
        assert len(password) >= 12


def test_common_and_numeric_passwords_are_refused_with_the_field_and_the_reason(officer_a):
    with pytest.raises(ValidationError) as common:
        validate_password("password1234", officer_a)
    assert "New password: too common" in " ".join(common.value.messages)
    with pytest.raises(ValidationError) as numeric:
        validate_password("839201746352", officer_a)
    assert "New password: only digits. Add letters or other characters." in numeric.value.messages


def test_every_password_saved_is_recorded_and_only_the_last_five_are_kept(officer_a, settings):
    assert PasswordHistory.objects.filter(user=officer_a).count() == 1  # make_user's
    set_passwords(officer_a, *(f"Kestrel-Pass-{n:02d}" for n in range(7)))
    kept = list(PasswordHistory.objects.filter(user=officer_a).values_list("password", flat=True))
    assert len(kept) == settings.REGISTRY["PASSWORD_HISTORY"] == 5
    assert kept[0] == officer_a.password  # the newest is the current password
    assert all(value.startswith("md5$") for value in kept)  # hashes only (the tests' hasher)


def test_the_same_password_saved_again_is_one_entry(officer_a):
    set_passwords(officer_a, OLD)  # e.g. the demo seed run again
    assert PasswordHistory.objects.filter(user=officer_a).count() == 1


def test_none_of_the_last_five_passwords_may_come_back(officer_a):
    older = [f"Kestrel-Pass-{n}" for n in range(1, 7)]  # 1 is the oldest, 6 the current
    set_passwords(officer_a, *older)
    for reused in older[1:]:
        with pytest.raises(ValidationError) as refused:
            validate_password(reused, officer_a)
        assert refused.value.messages == [
            "New password: you used it recently. Choose one that is not among your last 5 passwords."]
    validate_password(older[0], officer_a)  # the sixth-last is allowed again


def test_a_password_set_before_the_history_was_kept_counts_too(officer_a):
    PasswordHistory.objects.filter(user=officer_a).delete()
    with pytest.raises(ValidationError):
        validate_password(OLD, officer_a)


# --- the change page --------------------------------------------------------------------------------------

def test_anonymous_is_sent_to_login_from_the_change_page(client):
    response = client.get(CHANGE)
    assert response.status_code == 302 and response.url.startswith(reverse("login"))


def test_the_change_page_shows_the_station_rules_to_station_accounts_and_the_portal_rules_to_portal_accounts(
        client, officer_a, landlord_a):
    client.force_login(officer_a)
    body = client.get(CHANGE).content.decode()
    assert 'name="old_password"' in body and "At least 12 characters" in body
    client.force_login(landlord_a.user)
    assert "At least 8 characters" in client.get(CHANGE).content.decode()


def test_a_wrong_current_password_is_refused_and_counts_as_a_failed_sign_in(client, officer_a):
    client.force_login(officer_a)
    response = change(client, current="not-my-password")
    assert response.status_code == 200
    assert field_errors(response, "old_password") == [
        "Current password: not correct. Type the password you signed in with."]
    officer_a.refresh_from_db()
    assert officer_a.check_password(OLD)
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, actor_username="officer_a").count() == 1
    assert AccessAttempt.objects.get(username="officer_a").failures_since_start == 1
    assert address_failures("127.0.0.1") == 1
    assert not AuditEvent.objects.filter(action=AuditAction.PASSWORD_CHANGED).exists()


def test_guessing_the_current_password_locks_the_page_and_signs_out(client, officer_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    client.force_login(officer_a)
    statuses = [change(client, current=f"guess-{n}").status_code for n in range(3)]
    assert statuses == [200, 200, 429]
    assert SESSION_KEY not in client.session
    # The right password is refused too while the lock lasts.
    client.force_login(officer_a)
    locked = change(client)
    assert locked.status_code == 429 and "Login temporarily blocked" in locked.content.decode()
    officer_a.refresh_from_db()
    assert officer_a.check_password(OLD)


def test_with_a_wrong_current_password_nothing_is_said_about_the_new_one(client, officer_a):
    # Else a stranger at an unlocked screen could learn whether a guess is one of the user's passwords.
    client.force_login(officer_a)
    response = change(client, current="not-my-password", new=OLD)
    assert field_errors(response, "new_password1") == []


def test_a_station_password_of_eleven_characters_is_refused(client, officer_a):
    client.force_login(officer_a)
    response = change(client, new="Kestrel-87x")
    assert field_errors(response, "new_password1") == [
        "New password: too short. Station accounts need at least 12 characters."]
    assert 'aria-invalid="true"' in response.content.decode()
    officer_a.refresh_from_db()
    assert officer_a.check_password(OLD)
    assert PasswordHistory.objects.filter(user=officer_a).count() == 1


def test_a_portal_account_may_choose_eight_characters(client, landlord_a):
    client.force_login(landlord_a.user)
    response = change(client, new="Kes-87xy")
    assert response.status_code == 302
    landlord_a.user.refresh_from_db()
    assert landlord_a.user.check_password("Kes-87xy")


def test_a_password_among_the_last_five_is_refused(client, officer_a):
    set_passwords(officer_a, "Kestrel-Pass-1", "Kestrel-Pass-2", "Kestrel-Pass-3")
    client.force_login(officer_a)
    for reused in (OLD, "Kestrel-Pass-1", "Kestrel-Pass-3"):
        response = change(client, current="Kestrel-Pass-3", new=reused)
        assert field_errors(response, "new_password1") == [
            "New password: you used it recently. Choose one that is not among your last 5 passwords."], reused
    officer_a.refresh_from_db()
    assert officer_a.check_password("Kestrel-Pass-3")


def test_the_confirmation_must_match(client, officer_a):
    client.force_login(officer_a)
    response = change(client, again=NEW + "!")
    assert field_errors(response, "new_password2") == [
        "New password confirmation: not the same as the new password. Type the new password again."]


def test_a_good_password_keeps_this_browser_ends_the_other_session_and_revokes_tokens(
        officer_a, django_capture_on_commit_callbacks):
    here, elsewhere = english(), english()
    here.force_login(officer_a)
    elsewhere.force_login(officer_a)
    token, _raw = api_token_create(user=officer_a, name="sync")
    assert Session.objects.filter(user=officer_a).count() == 2

    with django_capture_on_commit_callbacks(execute=True):
        response = change(here)
    assert response.status_code == 302 and response.url == reverse("home")
    officer_a.refresh_from_db()
    assert officer_a.check_password(NEW)

    page = here.get(reverse("home"))
    assert page.status_code == 200
    assert "Your password is changed" in page.content.decode()
    [left] = Session.objects.filter(user=officer_a)
    assert left.session_key == here.session.session_key
    gone = elsewhere.get(reverse("home"))
    assert gone.status_code == 302 and gone.url.startswith(reverse("login"))
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.actor_id == officer_a.pk and event.object_id == str(officer_a.pk)
    assert AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED, object_id=str(officer_a.pk)).exists()
    assert PasswordHistory.objects.filter(user=officer_a).count() == 2


@pytest.mark.real_sign_in
def test_after_a_change_by_real_sign_in_the_other_browser_is_signed_out(
        settings, landlord_a, django_capture_on_commit_callbacks):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    here, elsewhere = english(), english()
    for browser in (here, elsewhere):
        assert browser.post(reverse("login"), {"username": "landlord_a", "password": OLD}).status_code == 302
    token, _raw = api_token_create(user=landlord_a.user, name="accounting")
    with django_capture_on_commit_callbacks(execute=True):
        assert change(here).status_code == 302
    assert here.get(reverse("portal:home")).status_code == 200
    assert elsewhere.get(reverse("portal:home")).status_code == 302
    assert Session.objects.filter(user=landlord_a.user).count() == 1
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    assert english().post(reverse("login"), {"username": "landlord_a", "password": NEW}).status_code == 302


# --- the administrator's one-time link ---------------------------------------------------------------------

def admin_link(admin_client, user) -> str:
    response = admin_client.post(reverse("admin:auth_user_password_link", args=[user.pk]))
    assert response.status_code == 200, response.content[:500]
    return response.context["link"]


@pytest.fixture
def admin_client(admin_user):
    client = english()
    client.force_login(admin_user)
    return client


def test_the_admin_user_page_offers_the_link_for_station_accounts_only(admin_client, officer_a, landlord_a):
    url = reverse("admin:auth_user_password_link", args=[officer_a.pk])
    assert url in admin_client.get(reverse("admin:auth_user_change", args=[officer_a.pk])).content.decode()
    page = admin_client.get(reverse("admin:auth_user_change", args=[landlord_a.user.pk])).content.decode()
    assert reverse("admin:auth_user_password_link", args=[landlord_a.user.pk]) not in page
    # Asked for anyway: refused, nothing made, nothing audited.
    refused = admin_client.post(reverse("admin:auth_user_password_link", args=[landlord_a.user.pk]))
    assert "link" not in refused.context and "is a portal account" in refused.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).exists()


def test_only_administrators_reach_the_link_page(client, officer_a, staff_a):
    url = reverse("admin:auth_user_password_link", args=[staff_a.pk])
    assert client.post(url).status_code == 302  # anonymous: to the login
    client.force_login(officer_a)
    response = client.post(url)
    assert response.status_code == 302 and "link" not in (response.context or {})
    assert not AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).exists()


def test_the_admins_link_sets_a_station_password_that_follows_the_rules_works_once_and_is_audited(
        admin_client, admin_user, officer_a, django_capture_on_commit_callbacks):
    signed_in = english()
    signed_in.force_login(officer_a)
    token, _raw = api_token_create(user=officer_a, name="sync")

    confirm = admin_client.get(reverse("admin:auth_user_password_link", args=[officer_a.pk]))
    assert confirm.status_code == 200 and "Make the link" in confirm.content.decode()
    assert not AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).exists()  # a GET makes nothing

    link = admin_link(admin_client, officer_a)
    assert "Hand it to the user in person" in admin_client.post(
        reverse("admin:auth_user_password_link", args=[officer_a.pk])).content.decode()
    assert not mail.outbox  # shown to the administrator, not emailed
    requested = AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).first()
    assert requested.actor_id == admin_user.pk and requested.object_id == str(officer_a.pk)
    path = re.sub(r"^https?://[^/]+", "", link)
    assert path.startswith("/account/password/reset/")

    holder = english()
    opened = holder.get(path)
    assert opened.status_code == 302  # the token moves into the session
    form_url = opened.url
    short = holder.post(form_url, {"new_password1": "Kestrel-87x", "new_password2": "Kestrel-87x"})
    assert field_errors(short, "new_password1") == [
        "New password: too short. Station accounts need at least 12 characters."]
    reused = holder.post(form_url, {"new_password1": OLD, "new_password2": OLD})
    assert "you used it recently" in " ".join(field_errors(reused, "new_password1"))
    officer_a.refresh_from_db()
    assert officer_a.check_password(OLD)

    with django_capture_on_commit_callbacks(execute=True):
        done = holder.post(form_url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done.url == reverse("password:reset_complete")
    officer_a.refresh_from_db()
    assert officer_a.check_password(NEW)
    assert SESSION_KEY not in holder.session  # no sign-in through the link: password and second factor next
    used = AuditEvent.objects.get(action=AuditAction.RESET_USED)
    assert used.actor_id == officer_a.pk and used.changes == {"via": "administrator link"}
    assert not Session.objects.filter(user=officer_a).exists()
    assert signed_in.get(reverse("home")).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None

    again = english().get(path)
    assert again.status_code == 200 and again.context["validlink"] is False
    assert "expired or was already used" in again.content.decode()


def test_the_admins_link_lasts_an_hour(admin_client, officer_a):
    path = re.sub(r"^https?://[^/]+", "", admin_link(admin_client, officer_a))
    # Local time (a ZoneInfo): the tokens count naive local seconds, and so does the suite's clock.
    with time_machine.travel(timezone.localtime() + datetime.timedelta(minutes=59)):
        assert english().get(path).status_code == 302
    with time_machine.travel(timezone.localtime() + datetime.timedelta(minutes=61)):
        late = english().get(path)
        assert late.status_code == 200 and late.context["validlink"] is False


def test_a_station_link_opens_nothing_for_a_portal_account_and_a_portal_link_nothing_here(landlord_a, officer_a):
    user = landlord_a.user
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    station_link = reverse("password:reset_confirm", args=[uid, station_reset_tokens.make_token(user)])
    assert english().get(station_link).context["validlink"] is False
    # The portal's emailed token for a station account does not open the station page either.
    officer_uid = urlsafe_base64_encode(force_bytes(officer_a.pk))
    portal_token = reverse("password:reset_confirm", args=[officer_uid, default_token_generator.make_token(officer_a)])
    assert english().get(portal_token).context["validlink"] is False


def test_a_password_set_in_the_admin_follows_the_rules_is_recorded_and_ends_sessions(
        admin_client, admin_user, officer_a, django_capture_on_commit_callbacks):
    signed_in = english()
    signed_in.force_login(officer_a)
    token, _raw = api_token_create(user=officer_a, name="sync")
    url = reverse("admin:auth_user_password_change", args=[officer_a.pk])

    short = admin_client.post(url, {"password1": "Kestrel-87x", "password2": "Kestrel-87x", "usable_password": "true"})
    assert short.status_code == 200
    assert "Station accounts need at least 12 characters" in short.content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        done = admin_client.post(url, {"password1": NEW, "password2": NEW, "usable_password": "true"})
    assert done.status_code == 302
    officer_a.refresh_from_db()
    assert officer_a.check_password(NEW)
    assert PasswordHistory.objects.filter(user=officer_a).first().password == officer_a.password
    event = AuditEvent.objects.get(action=AuditAction.PASSWORD_CHANGED)
    assert event.actor_id == admin_user.pk and event.object_id == str(officer_a.pk)
    assert signed_in.get(reverse("home")).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    # The administrator's own session is untouched.
    assert admin_client.get(reverse("admin:index")).status_code == 200


def test_the_admin_changing_their_own_password_stays_signed_in(admin_client, admin_user,
                                                                django_capture_on_commit_callbacks):
    url = reverse("admin:auth_user_password_change", args=[admin_user.pk])
    with django_capture_on_commit_callbacks(execute=True):
        assert admin_client.post(url, {"password1": NEW, "password2": NEW,
                                       "usable_password": "true"}).status_code == 302
    assert admin_client.get(reverse("admin:index")).status_code == 200
