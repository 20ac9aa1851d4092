"""Portal accounts for landlords and employers: an officer invites, the invitee sets a password once.

The account's username is the owner's phone number. Its scope comes only from the link
``Landlord.user`` / ``Employer.user`` (see ``registry.scoping``), so it sees its own records and nothing
else. The one-time link is an invitation token (``registry.passwords.invitation_tokens``): it stops working
once a password is set, when a newer invitation replaces the password hash, or after
``REGISTRY["INVITATION_DAYS"]`` (longer than a password reset's hour).
"""

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import EmailValidator
from django.db import models, transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import translation
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from housing.models import Landlord
from persons.models import Employer
from persons.validators import normalize_phone
from registry import audit
from registry.models import Profile
from registry.passwords import invitation_tokens
from registry.roles import RoleChoices

User = get_user_model()


class PortalAccountStatus(models.TextChoices):
    NONE = "none", _("No account")
    INVITED = "invited", _("Invited, not yet accepted")
    ACTIVE = "active", pgettext_lazy("portal account", "Active")
    DEACTIVATED = "deactivated", _("Deactivated")


def portal_account_status(owner: Landlord | Employer) -> str:
    """Where the owner's portal account stands, read from its ``user`` link."""
    user = owner.user
    if user is None:
        return PortalAccountStatus.NONE
    if not user.is_active:
        return PortalAccountStatus.DEACTIVATED
    if not user.has_usable_password():
        return PortalAccountStatus.INVITED
    return PortalAccountStatus.ACTIVE


def _owner_details(owner) -> tuple[str, str, str]:
    """(role, phone field name, display name) for a landlord or an employer."""
    if isinstance(owner, Landlord):
        return RoleChoices.LANDLORD, "phone", owner.name
    if isinstance(owner, Employer):
        return RoleChoices.EMPLOYER, "contact_phone", owner.contact_name or owner.name
    raise TypeError(f"not a landlord or employer: {owner!r}")


def portal_account_username(owner: Landlord | Employer) -> str:
    """The owner's phone, normalised: the username of their portal account."""
    _role, phone_field, _name = _owner_details(owner)
    phone = getattr(owner, phone_field) or ""
    if not phone.strip():
        if phone_field == "contact_phone":
            message = _("Contact phone: the employer has no contact phone. Add one (it becomes the user name), "
                        "then invite again.")
        else:
            message = _("Phone: the landlord has no phone number. Add one (it becomes the user name), "
                        "then invite again.")
        raise ValidationError({phone_field: message}, code="phone_missing")
    try:
        return normalize_phone(phone)
    except ValidationError as exc:
        raise ValidationError({phone_field: exc.messages}, code="phone")


def portal_account_check_invite(*, owner: Landlord | Employer, email: str) -> tuple[str, str]:
    """Decide whether the owner can be invited; returns (normalised email, username) or raises."""
    email = (email or "").strip()
    try:
        EmailValidator(message=_("Email: enter an address such as name@example.com."))(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}, code="email")
    existing = owner.user
    if existing is not None and existing.is_active and existing.has_usable_password():
        raise ValidationError(
            _("%(name)s already has a portal account; they can reset their password with "
              "“Forgot your password?” on the login page.") % {"name": owner},
            code="account_exists",
        )
    username = portal_account_username(owner)
    clash = User.objects.filter(username__iexact=username)
    if existing is not None:
        clash = clash.exclude(pk=existing.pk)
    if clash.exists():
        _role, phone_field, _name = _owner_details(owner)
        raise ValidationError(
            {phone_field: _("The user name %(username)s (this phone number) already belongs to another account. "
                            "Check the phone number, or ask an administrator.") % {"username": username}},
            code="username_taken",
        )
    return User.objects.normalize_email(email), username


def portal_account_link(user, *, request=None) -> str:
    """The absolute one-time link that lets ``user`` set their password."""
    path = reverse("portal:invite_accept", kwargs={
        "uidb64": urlsafe_base64_encode(force_bytes(user.pk)),
        "token": invitation_tokens.make_token(user),
    })
    if request is not None:
        return request.build_absolute_uri(path)
    return settings.SITE_URL.rstrip("/") + path


def _link_owner(owner, user) -> None:
    """Point the owner at the account, bumping its version as every edit does (change feed, concurrency)."""
    model = type(owner)
    version = model._default_manager.select_for_update().filter(pk=owner.pk).values_list("version", flat=True).get()
    owner.user = user
    owner.version = version + 1
    owner.save(update_fields=["user", "version", "updated_at"])


def _invitation_email(*, user, owner, link: str, language: str) -> tuple[str, str]:
    context = {
        "name": user.get_full_name() or str(owner),
        "username": user.get_username(),
        "link": link,
        "days": settings.REGISTRY["INVITATION_DAYS"],
        "station": owner.station,
    }
    with translation.override(language):
        subject = render_to_string("portal/accounts/invite_email_subject.txt", context).strip()
        body = render_to_string("portal/accounts/invite_email.txt", context)
    return " ".join(subject.splitlines()), body


@transaction.atomic
def portal_account_invite(*, owner: Landlord | Employer, email: str, actor, request=None,
                          language: str | None = None) -> tuple[User, str]:
    """Create (or re-issue) the owner's portal account with no password and email a one-time link.

    An account that never set a password, or was deactivated, is reused: it gets a fresh unusable
    password, which also invalidates any link sent before. Returns the user and the link, so the
    officer can pass it on by SMS as well.
    """
    email, username = portal_account_check_invite(owner=owner, email=email)
    language = language if language in dict(settings.LANGUAGES) else settings.LANGUAGE_CODE
    role, _phone_field, name = _owner_details(owner)
    before = str(portal_account_status(owner))

    user = owner.user or User(username=username)
    user.username = username
    user.email = email
    user.first_name = (name or "")[:150]
    user.is_active = True
    user.is_staff = user.is_superuser = False
    user.set_unusable_password()
    user.full_clean(exclude=["password", "last_name"])
    user.save()

    profile = Profile.objects.filter(user=user).first() or Profile(user=user)
    profile.role, profile.station, profile.district = role, None, None
    profile.full_clean()
    profile.save()

    if owner.user_id != user.pk:
        _link_owner(owner, user)
    # The user and profile are not audited models; this event is what the trail shows for the invitation.
    audit.record(action=audit.AuditAction.UPDATE, obj=owner, user=actor,
                 changes={"portal_account": [before, str(PortalAccountStatus.INVITED)],
                          "portal_username": ["", username]})

    link = portal_account_link(user, request=request)
    subject, body = _invitation_email(user=user, owner=owner, link=link, language=language)
    transaction.on_commit(
        lambda: send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, [email]), robust=True)
    return user, link


@transaction.atomic
def portal_account_deactivate(*, owner: Landlord | Employer, actor) -> None:
    """Remove the owner's portal access: the account stays (and stays linked) but can no longer log in."""
    user = owner.user
    if user is None:
        raise ValidationError(_("%(name)s has no portal account.") % {"name": owner}, code="no_account")
    if not user.is_active:
        return
    before = str(portal_account_status(owner))
    user.is_active = False
    user.save(update_fields=["is_active"])
    audit.record(action=audit.AuditAction.UPDATE, obj=owner, user=actor,
                 changes={"portal_account": [before, str(PortalAccountStatus.DEACTIVATED)]})
