"""Signing in (issue 14): the second factor, lock-outs that cannot be sprayed or turned against users, the
client's address behind a proxy, idle sessions, the sessions page, and what ends a user's sessions.

These tests go through the real steps (``real_sign_in``): the password, then the code.
"""

import datetime
import re

import pytest
import time_machine
from axes.models import AccessAttempt
from django.contrib.auth import SESSION_KEY
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_otp.oath import totp
from django_otp.plugins.otp_totp.models import TOTPDevice
from qsessions.models import Session

from registry.factories import make_user
from registry.models import ApiToken, AuditAction, AuditEvent, Profile
from registry.roles import RoleChoices
from registry.second_factor import devices_reset, recovery_codes_new
from registry.services import api_token_create

pytestmark = pytest.mark.real_sign_in

PASSWORD = "demo-pass-2026"


def code_for(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """What the user's authenticator app shows now (or a step later, for a second sign-in in the same 30 s)."""
    device.refresh_from_db()
    return f"{totp(device.bin_key, step=device.step, t0=device.t0, drift=device.drift + steps_ahead):06d}"


def enrolled(user) -> TOTPDevice:
    return TOTPDevice.objects.create(user=user, name="phone", confirmed=True)


def password_step(client, username, password=PASSWORD, **extra):
    return client.post(reverse("login"), {"username": username, "password": password}, **extra)


def same_page(response) -> str:
    """The page without its CSRF tokens, which differ on every answer."""
    page = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', "", response.content.decode())
    return re.sub(r'"X-CSRFToken": "[^"]+"', "", page)


def signed_in(user, device, steps_ahead: int = 0) -> Client:
    client = Client()
    password_step(client, user.username)
    response = client.post(reverse("account:otp_verify"), {"code": code_for(device, steps_ahead)})
    assert response.status_code == 302, response.content[:300]
    return client


# --- the second factor ----------------------------------------------------------------------------------

def test_staff_without_a_device_is_taken_to_enrolment_and_reaches_nothing_else(client, staff_a):
    response = password_step(client, "staff_a")
    assert response.status_code == 302
    for url in (reverse("home"), reverse("persons:person_list"), reverse("search") + "?q=x", reverse("tokens:list")):
        page = client.get(url)
        assert page.status_code == 302 and page["Location"].startswith(reverse("account:otp_setup")), url
    assert client.get("/api/v1/persons/").status_code == 403


def test_enrolment_shows_a_qr_code_and_ten_recovery_codes_once_and_verifies_the_session(client, staff_a):
    password_step(client, "staff_a")
    page = client.get(reverse("account:otp_setup"))
    assert page.status_code == 200 and "<svg" in page.content.decode()
    device = TOTPDevice.objects.get(user=staff_a, confirmed=False)
    refused = client.post(reverse("account:otp_setup"), {"code": "000000" if code_for(device) != "000000"
                                                         else "111111"})
    assert refused.status_code == 200 and refused.context["form"].errors["code"]
    done = client.post(reverse("account:otp_setup"), {"code": code_for(device)})
    assert done.status_code == 200
    codes = re.findall(r"<li class=\"col\">([a-z0-9-]+)</li>", done.content.decode())
    assert len(codes) == 10 and len(set(codes)) == 10
    assert client.get(reverse("persons:person_list")).status_code == 200
    device.refresh_from_db()
    assert device.confirmed
    assert AuditEvent.objects.filter(action=AuditAction.DEVICE_ENROLLED, object_id=str(staff_a.pk)).exists()
    # Shown once: the manage page counts them, it does not show them.
    manage = client.get(reverse("account:otp_manage")).content.decode()
    assert not any(code in manage for code in codes)


def test_officer_signs_in_with_a_code_and_then_with_a_recovery_code_that_works_once(officer_a):
    device = enrolled(officer_a)
    code = recovery_codes_new(user=officer_a)[3]

    client = signed_in(officer_a, device)
    assert client.get(reverse("persons:person_list")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.OTP_VERIFIED, actor_id=officer_a.pk).exists()

    other = Client()
    password_step(other, "officer_a")
    assert other.post(reverse("account:otp_verify"), {"code": code.upper().replace("-", " ")}).status_code == 302
    assert other.get(reverse("persons:person_list")).status_code == 200
    assert AuditEvent.objects.filter(action=AuditAction.RECOVERY_USED, actor_id=officer_a.pk).exists()

    again = Client()
    password_step(again, "officer_a")
    assert again.post(reverse("account:otp_verify"), {"code": code}).context["form"].errors["code"]
    assert again.get(reverse("persons:person_list")).status_code == 302


def test_a_wrong_code_is_refused_audited_and_counted_like_a_wrong_password(client, staff_a, settings):
    device = enrolled(staff_a)
    password_step(client, "staff_a")
    wrong = "000000" if code_for(device) != "000000" else "111111"
    assert client.post(reverse("account:otp_verify"), {"code": wrong}).context["form"].errors["code"]
    assert AuditEvent.objects.filter(action=AuditAction.OTP_FAILED, actor_id=staff_a.pk).exists()
    assert AccessAttempt.objects.filter(username="staff_a").get().failures_since_start == 1


def test_the_code_step_locks_the_account_at_this_address_after_the_limit(client, staff_a, settings):
    settings.AXES_FAILURE_LIMIT = 3
    device = enrolled(staff_a)
    password_step(client, "staff_a")
    wrong = "000000" if code_for(device) != "000000" else "111111"
    answers = [client.post(reverse("account:otp_verify"), {"code": wrong}).status_code for _ in range(3)]
    assert answers[-1] == 429
    # Signed out, and the password step now refuses this account here.
    assert SESSION_KEY not in client.session
    assert password_step(client, "staff_a").status_code == 429


def test_an_administrator_without_a_verified_second_factor_reaches_no_admin_and_no_station_page(client, admin_user):
    password_step(client, admin_user.username)
    for url in ("/admin/", "/admin/auth/user/", reverse("home"), reverse("persons:person_list"),
                reverse("dashboard")):
        response = client.get(url, follow=True)
        assert response.redirect_chain[-1][0].startswith(reverse("account:otp_setup")), url


def test_the_admin_needs_a_second_factor_even_where_the_role_does_not(client, admin_user, settings):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    password_step(client, admin_user.username)
    assert client.get(reverse("persons:person_list")).status_code == 200
    response = client.get("/admin/", follow=True)
    assert response.redirect_chain[-1][0].startswith(reverse("account:otp_setup"))
    device = enrolled(admin_user)
    client.get(reverse("account:otp_verify"))
    assert client.post(reverse("account:otp_verify"), {"code": code_for(device)}).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_a_landlord_may_enrol_and_then_gives_the_code_at_every_sign_in(client, landlord_a):
    assert password_step(client, landlord_a.user.username).status_code == 302
    assert client.get(reverse("portal:home")).status_code == 200  # not required of a landlord
    client.get(reverse("account:otp_setup"))
    device = TOTPDevice.objects.get(user=landlord_a.user)
    client.post(reverse("account:otp_setup"), {"code": code_for(device)})
    later = Client()
    password_step(later, landlord_a.user.username)
    response = later.get(reverse("portal:home"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account:otp_verify"))


def test_adding_a_device_needs_the_one_already_there(client, staff_a):
    enrolled(staff_a)
    password_step(client, "staff_a")
    response = client.get(reverse("account:otp_setup"))
    assert response.status_code == 302 and response["Location"].startswith(reverse("account:otp_verify"))
    assert not TOTPDevice.objects.filter(user=staff_a, confirmed=False).exists()


def test_a_user_whose_role_requires_it_cannot_remove_their_last_device(staff_a):
    device = enrolled(staff_a)
    client = signed_in(staff_a, device)
    client.post(reverse("account:otp_remove", args=[device.pk]), {"password": PASSWORD})
    assert TOTPDevice.objects.filter(pk=device.pk).exists()
    second = enrolled(staff_a)
    client.post(reverse("account:otp_remove", args=[second.pk]), {"password": "not my password"})
    assert TOTPDevice.objects.filter(pk=second.pk).exists()  # a change of factor asks for the password
    assert AccessAttempt.objects.get(username="staff_a").failures_since_start == 1
    client.post(reverse("account:otp_remove", args=[second.pk]), {"password": PASSWORD})
    assert not TOTPDevice.objects.filter(pk=second.pk).exists()


def test_an_administrator_resets_a_users_devices_which_ends_their_sessions(staff_a, admin_user,
                                                                          django_capture_on_commit_callbacks):
    device = enrolled(staff_a)
    client = signed_in(staff_a, device)
    with django_capture_on_commit_callbacks(execute=True):
        assert devices_reset(user=staff_a, actor=admin_user, reason="lost phone") >= 1
    assert not TOTPDevice.objects.filter(user=staff_a).exists()
    assert client.get(reverse("persons:person_list")).status_code == 302
    assert not Session.objects.filter(user=staff_a).exists()
    event = AuditEvent.objects.get(action=AuditAction.DEVICES_RESET, object_id=str(staff_a.pk))
    assert event.actor_id == admin_user.pk and event.reason == "lost phone"


# --- lock-outs ------------------------------------------------------------------------------------------

def test_a_password_spray_from_one_address_is_refused_while_a_real_user_elsewhere_signs_in(settings, station_a):
    settings.REGISTRY = {**settings.REGISTRY, "ADDRESS_FAILURE_LIMIT": 30, "SECOND_FACTOR_ROLES": []}
    for n in range(12):
        make_user(RoleChoices.STAFF, username=f"victim{n}", station=station_a)
    attacker = Client(REMOTE_ADDR="203.0.113.9")
    answers = [password_step(attacker, f"victim{n % 12}", "Winter2026!").status_code for n in range(36)]
    assert answers[:30] == [200] * 30  # wrong passwords: the form again
    assert set(answers[30:]) == {429}
    # Now even a right password from that address is refused, with the same page as for a made-up name.
    right, made_up = password_step(attacker, "victim1"), password_step(attacker, "nobody-here")
    assert right.status_code == made_up.status_code == 429
    assert same_page(right) == same_page(made_up)
    assert SESSION_KEY not in attacker.session
    # A real user at another desk is not affected.
    desk = Client(REMOTE_ADDR="198.51.100.20")
    assert password_step(desk, "victim1").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, ip_address="203.0.113.9").exists()


def test_a_stranger_cannot_lock_a_user_out_at_their_own_desk(settings, staff_a):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    stranger = Client(REMOTE_ADDR="203.0.113.7")
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(stranger, "staff_a", "wrong-password")
    assert password_step(stranger, "staff_a").status_code == 429
    assert password_step(Client(REMOTE_ADDR="198.51.100.4"), "staff_a").status_code == 302


def test_behind_the_proxy_header_two_clients_are_counted_apart(settings, staff_a):
    settings.CLIENT_IP_HEADER = "HTTP_X_REAL_IP"
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(**proxy), "staff_a", "wrong", HTTP_X_REAL_IP="203.0.113.50")
    assert password_step(Client(**proxy), "staff_a", HTTP_X_REAL_IP="203.0.113.50").status_code == 429
    assert password_step(Client(**proxy), "staff_a", HTTP_X_REAL_IP="198.51.100.60").status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.LOGIN, ip_address="198.51.100.60").exists()


def test_without_the_setting_a_forged_header_changes_nothing(settings, staff_a):
    settings.CLIENT_IP_HEADER = ""
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    for n in range(settings.AXES_FAILURE_LIMIT):
        password_step(Client(REMOTE_ADDR="203.0.113.8"), "staff_a", "wrong",
                      HTTP_X_REAL_IP=f"198.51.100.{n}", HTTP_X_FORWARDED_FOR=f"192.0.2.{n}")
    answer = password_step(Client(REMOTE_ADDR="203.0.113.8"), "staff_a", HTTP_X_FORWARDED_FOR="192.0.2.99")
    assert answer.status_code == 429
    assert set(AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED).values_list("ip_address", flat=True)) == {
        "203.0.113.8"}


# --- sessions ---------------------------------------------------------------------------------------------

def test_an_idle_station_session_ends_after_30_minutes_and_a_portal_one_after_two_hours(settings, staff_a,
                                                                                          landlord_a):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    staff, owner = Client(), Client()
    password_step(staff, "staff_a")
    password_step(owner, landlord_a.user.username)
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=29)):
        assert staff.get(reverse("persons:person_list")).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=29 + 31)):
        response = staff.get(reverse("persons:person_list"))
        assert response.status_code == 302 and response["Location"].startswith(reverse("login"))
        assert owner.get(reverse("portal:home")).status_code == 200
    with time_machine.travel(timezone.now() + datetime.timedelta(minutes=60 + 121)):
        assert owner.get(reverse("portal:home")).status_code == 302


def test_the_sessions_page_lists_browsers_and_signs_out_one_or_all_others(settings, staff_a):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    here = Client(HTTP_USER_AGENT="Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
                                  "Chrome/156.0.0.0 Safari/537.36", REMOTE_ADDR="198.51.100.1")
    phone, laptop = Client(REMOTE_ADDR="198.51.100.2"), Client(REMOTE_ADDR="198.51.100.3")
    for client in (here, phone, laptop):
        password_step(client, "staff_a")
    page = here.get(reverse("account:sessions")).content.decode()
    assert "Chrome" in page and "198.51.100.2" in page and "198.51.100.3" in page
    assert here.session.session_key not in page  # sessions are named by a digest, never by their key
    refs = re.findall(r'name="session" value="([0-9a-f]{16})"', page)
    assert len(refs) == 2
    here.post(reverse("account:sessions"), {"session": refs[0]})  # no password: nothing happens
    assert Session.objects.filter(user=staff_a).count() == 3
    here.post(reverse("account:sessions"), {"session": refs[0], "password": PASSWORD})
    assert Session.objects.filter(user=staff_a).count() == 2
    here.post(reverse("account:sessions"), {"session": "others", "password": PASSWORD})
    assert Session.objects.filter(user=staff_a).count() == 1
    assert here.get(reverse("persons:person_list")).status_code == 200
    assert phone.get(reverse("persons:person_list")).status_code == 302
    assert laptop.get(reverse("persons:person_list")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED, object_id=str(staff_a.pk)).count() == 2


def test_one_cannot_end_another_users_session_from_the_sessions_page(settings, staff_a, staff_b):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    mine, theirs = Client(), Client()
    password_step(mine, "staff_a")
    password_step(theirs, "staff_b")
    from registry.views_account import session_ref

    mine.post(reverse("account:sessions"), {"session": session_ref(theirs.session.session_key), "password": PASSWORD})
    assert theirs.get(reverse("persons:person_list")).status_code == 200


@pytest.mark.parametrize("change", ["deactivate", "role", "station"])
def test_deactivation_or_a_new_role_or_station_ends_sessions_and_revokes_tokens(
        settings, staff_a, station_b, change, django_capture_on_commit_callbacks):
    settings.REGISTRY = {**settings.REGISTRY, "SECOND_FACTOR_ROLES": []}
    client = Client()
    password_step(client, "staff_a")
    token, _raw = api_token_create(user=staff_a, name="sync")
    with django_capture_on_commit_callbacks(execute=True):
        if change == "deactivate":
            staff_a.is_active = False
            staff_a.save()
        else:
            profile = Profile.objects.get(user=staff_a)
            if change == "role":
                profile.role = RoleChoices.OFFICER
            else:
                profile.station = station_b
            profile.save()
    assert not Session.objects.filter(user=staff_a).exists()
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None


def test_an_unverified_browser_session_gets_403_from_the_api(client, staff_a):
    enrolled(staff_a)
    password_step(client, "staff_a")
    response = client.get("/api/v1/persons/")
    assert response.status_code == 403 and response.json()["error"] == "second_factor_required"


def test_new_recovery_codes_ask_for_the_password_and_sign_out_the_other_sessions(staff_a):
    device = enrolled(staff_a)
    old = recovery_codes_new(user=staff_a)
    client, other = signed_in(staff_a, device), Client()
    password_step(other, "staff_a")
    other.post(reverse("account:otp_verify"), {"code": old[0]})
    assert other.get(reverse("persons:person_list")).status_code == 200
    page = client.post(reverse("account:otp_recovery_codes"), {"password": PASSWORD})
    fresh = re.findall(r"<li class=\"col\">([a-z0-9-]+)</li>", page.content.decode())
    assert len(fresh) == 10 and not set(fresh) & set(old)
    assert other.get(reverse("persons:person_list")).status_code == 302  # signed out
    assert client.get(reverse("persons:person_list")).status_code == 200
    again = Client()
    password_step(again, "staff_a")
    assert again.post(reverse("account:otp_verify"), {"code": old[1]}).context["form"].errors["code"]


def test_an_administrator_signs_a_user_out_everywhere_and_resets_their_second_factor_from_the_admin(
        staff_a, admin_user, django_capture_on_commit_callbacks):
    device = enrolled(staff_a)
    victim = signed_in(staff_a, device)
    admin = signed_in(admin_user, enrolled(admin_user))
    changelist = reverse("admin:auth_user_changelist")
    admin.post(changelist, {"action": "end_sessions", "_selected_action": [staff_a.pk]})
    assert victim.get(reverse("persons:person_list")).status_code == 302
    victim = signed_in(staff_a, device, steps_ahead=1)  # a code works once: the app's next one
    with django_capture_on_commit_callbacks(execute=True):
        admin.post(changelist, {"action": "reset_second_factor", "_selected_action": [staff_a.pk]})
    assert not TOTPDevice.objects.filter(user=staff_a).exists()
    assert victim.get(reverse("persons:person_list")).status_code == 302
    assert AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED, actor_id=admin_user.pk).count() == 2
    assert AuditEvent.objects.filter(action=AuditAction.DEVICES_RESET, actor_id=admin_user.pk).exists()
