"""The email reset serves portal accounts only (issue 14): a station-side account gets the answer an unknown
address gets and no mail. Reset links last an hour, invitations their own 3 days; a password set through
either ends the account's other sessions and revokes its API tokens. Audited."""

import datetime
import re

import pytest
import time_machine
from django.core import mail
from django.core.cache import cache
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone
from qsessions.models import Session

from housing.factories import LandlordFactory
from portal.accounts import portal_account_invite
from registry.factories import make_user
from registry.models import ApiToken, AuditAction, AuditEvent, PasswordHistory
from registry.roles import RoleChoices
from registry.services import api_token_create

NEW = "Qiao-Men-2026!"
LINK = re.compile(r"https?://[^/\s]+(/portal/accounts/(?:invite|reset)/[^/\s]+/[^/\s]+/)")
RESET = "/portal/accounts/password-reset/"


@pytest.fixture(autouse=True)
def _english_and_fresh_cache(client, settings):
    client.defaults["HTTP_ACCEPT_LANGUAGE"] = "en"
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                   "LOCATION": "portal-reset-tests"}}
    cache.clear()
    yield
    cache.clear()


def english() -> Client:
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def later(**delta):
    """A moment ahead, in local time (a ZoneInfo): the tokens count naive local seconds, as the suite's clock."""
    return time_machine.travel(timezone.localtime() + datetime.timedelta(**delta))


def link_path(message) -> str:
    return LINK.search(message.body).group(1)


def page(response) -> str:
    """The page without its CSRF tokens, which differ on every answer."""
    content = re.sub(r'"X-CSRFToken": "[^"]*"', "", response.content.decode())
    return re.sub(r'name="csrfmiddlewaretoken" value="[^"]*"', "", content)


def ask(email: str):
    """Ask for a reset from a fresh browser (and address, so the rate limits stay out of the way)."""
    ask.n = getattr(ask, "n", 0) + 1
    return english().post(RESET, {"email": email}, follow=True, REMOTE_ADDR=f"10.1.0.{ask.n % 250 + 1}")


def with_email(user, email):
    user.email = email
    user.save(update_fields=["email"])
    return user


@pytest.fixture
def station_accounts(station_a, district):
    """One account of each station-side kind, each with an email address."""
    accounts = {role: make_user(role, username=f"station-{role}", station=station_a, district=district)
                for role in (RoleChoices.STAFF, RoleChoices.OFFICER, RoleChoices.SUPERVISOR, RoleChoices.ADMIN)}
    # A superuser is station-side whatever their profile says.
    accounts["superuser-with-landlord-profile"] = make_user(RoleChoices.LANDLORD, username="odd-superuser")
    accounts["superuser-with-landlord-profile"].is_superuser = True
    accounts["superuser-with-landlord-profile"].save()
    for name, user in accounts.items():
        with_email(user, f"{name}@police.example.org")
    return accounts


# --- station accounts: the answer for an unknown address, and no mail --------------------------------------

@pytest.mark.parametrize("kind", ["staff", "officer", "supervisor", "admin", "superuser-with-landlord-profile"])
def test_a_station_account_asking_for_a_portal_reset_gets_no_mail_and_the_answer_for_an_unknown_address(
        kind, station_accounts):
    unknown = ask("nobody@police.example.org")
    station = ask(f"{kind}@police.example.org")
    assert not mail.outbox
    assert station.status_code == unknown.status_code == 200
    assert station.redirect_chain == unknown.redirect_chain == [(reverse("portal:password_reset_done"), 302)]
    assert page(station) == page(unknown)
    assert not AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).exists()


def test_a_station_account_costs_the_same_work_as_an_unknown_address(station_accounts):
    # The same queries (one, finding no portal account), no mail rendered: nothing to time apart.
    def queries(email):
        with CaptureQueriesContext(connection) as captured:
            english().post(RESET, {"email": email}, REMOTE_ADDR="10.2.0.1")
        return [re.sub(r"'[^']*'", "?", q["sql"]) for q in captured.captured_queries]

    assert queries("officer@police.example.org") == queries("nobody@police.example.org")
    assert not mail.outbox


def test_a_portal_link_made_for_a_station_account_opens_nothing(officer_a):
    from django.contrib.auth.tokens import default_token_generator
    from django.utils.encoding import force_bytes
    from django.utils.http import urlsafe_base64_encode

    path = reverse("portal:password_reset_confirm", args=[
        urlsafe_base64_encode(force_bytes(officer_a.pk)), default_token_generator.make_token(officer_a)])
    response = english().get(path)
    assert response.status_code == 200 and response.context["validlink"] is False


# --- portal accounts: a link for an hour ---------------------------------------------------------------

def test_a_portal_account_gets_its_mail_and_the_link_works_for_an_hour_and_not_after(landlord_a):
    with_email(landlord_a.user, "a@example.org")
    assert ask("a@example.org").redirect_chain == [(reverse("portal:password_reset_done"), 302)]
    [message] = mail.outbox
    assert message.to == ["a@example.org"] and "within 60 minutes" in message.body
    path = link_path(message)
    with later(minutes=59):
        opened = english().get(path)
        assert opened.status_code == 302
    with later(minutes=61):
        late = english().get(path)
        assert late.status_code == 200 and late.context["validlink"] is False
        assert "expired or was already used" in late.content.decode()


def test_a_reset_request_for_a_portal_account_is_audited_without_the_address(landlord_a, employer_a):
    with_email(landlord_a.user, "a@example.org")
    with_email(employer_a.user, "e@example.org")
    ask("a@example.org")
    ask("e@example.org")
    ask("nobody@example.org")
    events = AuditEvent.objects.filter(action=AuditAction.RESET_REQUESTED).order_by("id")
    assert [e.object_id for e in events] == [str(landlord_a.user.pk), str(employer_a.user.pk)]
    assert all(e.actor_id is None and e.changes == {"via": "email"} for e in events)
    assert not any("example.org" in str(e.changes) + e.reason for e in AuditEvent.objects.all())
    assert len(mail.outbox) == 2


def test_a_reset_ends_the_users_other_sessions_and_revokes_their_tokens(
        landlord_a, django_capture_on_commit_callbacks):
    user = with_email(landlord_a.user, "a@example.org")
    signed_in = english()
    signed_in.force_login(user)
    token, _raw = api_token_create(user=user, name="sync")
    ask("a@example.org")

    holder = english()
    opened = holder.get(link_path(mail.outbox[0]))
    with django_capture_on_commit_callbacks(execute=True):
        done = holder.post(opened.url, {"new_password1": NEW, "new_password2": NEW})
    assert done.status_code == 302 and done.url == reverse("portal:password_reset_complete")
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert not Session.objects.filter(user=user).exists()
    assert signed_in.get(reverse("portal:home")).status_code == 302
    assert ApiToken.objects.get(pk=token.pk).revoked_at is not None
    used = AuditEvent.objects.get(action=AuditAction.RESET_USED)
    assert used.object_id == str(user.pk) and used.changes == {"via": "email"}
    assert AuditEvent.objects.filter(action=AuditAction.SESSIONS_ENDED, object_id=str(user.pk)).exists()


def test_a_reset_refuses_a_bad_password_on_its_field_and_changes_nothing(landlord_a):
    user = with_email(landlord_a.user, "a@example.org")
    ask("a@example.org")
    holder = english()
    form_url = holder.get(link_path(mail.outbox[0])).url
    for bad, reason in (("Kes-87x", "too short. Use at least 8 characters"),
                        ("demo-pass-2026", "you used it recently"),
                        ("password123", "too common")):
        response = holder.post(form_url, {"new_password1": bad, "new_password2": bad})
        assert response.status_code == 200
        assert reason in " ".join(response.context["form"].errors["new_password1"]), bad
    user.refresh_from_db()
    assert user.check_password("demo-pass-2026")
    assert not AuditEvent.objects.filter(action=AuditAction.RESET_USED).exists()


# --- invitations keep their 3 days --------------------------------------------------------------------------

@pytest.fixture
def invited(station_a, officer_a, django_capture_on_commit_callbacks):
    landlord = LandlordFactory(station=station_a, name="钱多多", phone="138 0000 2222")
    with django_capture_on_commit_callbacks(execute=True):
        user, link = portal_account_invite(owner=landlord, email="qian@example.org", actor=officer_a, language="en")
    return user, re.sub(r"^https?://[^/]+", "", link)


def test_an_invitation_still_works_after_two_days(invited, django_capture_on_commit_callbacks):
    user, path = invited
    [message] = mail.outbox
    assert "expires in 3 days" in message.body
    with later(days=2):
        invitee = english()
        opened = invitee.get(path)
        assert opened.status_code == 302
        with django_capture_on_commit_callbacks(execute=True):
            done = invitee.post(opened.url, {"new_password1": NEW, "new_password2": NEW})
        assert done.status_code == 302 and done.url == reverse("portal:home")
    user.refresh_from_db()
    assert user.check_password(NEW)
    assert PasswordHistory.objects.filter(user=user).count() == 1
    used = AuditEvent.objects.get(action=AuditAction.RESET_USED)
    assert used.object_id == str(user.pk) and used.changes == {"via": "invitation"}
    # Signed in by the link, and that session stays.
    assert Session.objects.filter(user=user).count() == 1


def test_an_invitation_stops_working_after_three_days(invited):
    _user, path = invited
    with later(days=3, minutes=1):
        late = english().get(path)
    assert late.status_code == 200 and late.context["validlink"] is False


def test_an_invitation_and_a_reset_link_cannot_stand_in_for_each_other(invited):
    user, invite_path = invited
    token = invite_path.rstrip("/").split("/")[-1]
    uid = invite_path.rstrip("/").split("/")[-2]
    as_reset = english().get(reverse("portal:password_reset_confirm", args=[uid, token]))
    assert as_reset.context["validlink"] is False
