"""Portal accounts: officers invite and remove landlord and employer accounts; invitees set a password;
a portal account resets a forgotten password by email (rate-limited per address and per IP). Station-side
accounts get no email reset: an administrator gives them a one-time link (``registry.views_password``).

A password set through either link ends every other session of the account and revokes its API tokens."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import views as auth_views
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.decorators import method_decorator
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_POST
from django.views.generic import FormView
from django_ratelimit.core import is_ratelimited

from housing.models import Landlord
from persons.models import Employer
from registry.forms import add_service_error
from registry.passwords import invitation_tokens, password_reset_used
from registry.scoping import get_object_for_user
from registry.signin import is_station_side

from .accounts import (
    PortalAccountStatus,
    portal_account_deactivate,
    portal_account_invite,
    portal_account_status,
    portal_account_username,
)
from .forms_accounts import PortalInviteForm, PortalPasswordResetForm, PortalSetPasswordForm


def _reset_rate_per_email(group, request) -> str:
    """django-ratelimit rate ("3/h"); read per request so that settings can change it."""
    return getattr(settings, "PORTAL_PASSWORD_RESET_RATE_PER_EMAIL", "3/h")


def _reset_rate_per_ip(group, request) -> str:
    return getattr(settings, "PORTAL_PASSWORD_RESET_RATE_PER_IP", "10/h")


OWNER_KINDS = {
    "landlord": (Landlord, "housing:landlord_detail"),
    "employer": (Employer, "persons:employer_detail"),
}


class OwnerAccountMixin(LoginRequiredMixin, PermissionRequiredMixin):
    """Officers only (403 for everyone else), and only for owners inside their scope (404 outside).

    The permission is checked in ``dispatch`` before the owner is looked up, so staff get 403, not 404.
    """

    permission_required = "registry.manage_landlord_accounts"
    owner_kind = "landlord"

    def handle_no_permission(self):
        if self.request.user.is_authenticated:
            raise PermissionDenied
        return super().handle_no_permission()

    def get_owner(self):
        model, _detail = OWNER_KINDS[self.owner_kind]
        queryset = model._default_manager.select_related("station", "user")
        return get_object_for_user(queryset, self.request.user, pk=self.kwargs["pk"])

    def owner_url(self, owner) -> str:
        return reverse(OWNER_KINDS[self.owner_kind][1], args=[owner.pk])


class PortalInviteView(OwnerAccountMixin, FormView):
    """GET: the invitation form. POST: create or re-issue the account and show its one-time link once."""

    form_class = PortalInviteForm
    template_name = "portal/accounts/invite.html"

    def get_initial(self):
        initial = super().get_initial()
        if self.owner.user is not None and self.owner.user.email:
            initial["email"] = self.owner.user.email
        return initial

    def get(self, request, *args, **kwargs):
        self.owner = self.get_owner()
        return super().get(request, *args, **kwargs)

    def post(self, request, *args, **kwargs):
        self.owner = self.get_owner()
        return super().post(request, *args, **kwargs)

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        try:
            username = portal_account_username(self.owner)
        except ValidationError:
            username = ""  # the POST explains what is missing
        context.update(owner=self.owner, owner_kind=self.owner_kind, owner_url=self.owner_url(self.owner),
                       status=portal_account_status(self.owner), statuses=PortalAccountStatus, username=username)
        return context

    def form_valid(self, form):
        try:
            user, link = portal_account_invite(
                owner=self.owner, email=form.cleaned_data["email"], actor=self.request.user,
                request=self.request, language=form.cleaned_data["language"])
        except ValidationError as exc:
            add_service_error(form, exc)
            return self.form_invalid(form)
        messages.success(self.request, _("Invitation sent to %(email)s.") % {"email": user.email})
        return render(self.request, "portal/accounts/invite_sent.html", {
            "owner": self.owner, "owner_kind": self.owner_kind, "owner_url": self.owner_url(self.owner),
            "account": user, "link": link,
        })


@method_decorator(require_POST, name="dispatch")
class PortalDeactivateView(OwnerAccountMixin, View):
    """POST: the owner's account can no longer log in; it stays linked, so its history is kept."""

    def post(self, request, *args, **kwargs):
        owner = self.get_owner()
        try:
            portal_account_deactivate(owner=owner, actor=request.user)
        except ValidationError as exc:
            messages.error(request, " ".join(exc.messages))
        else:
            messages.success(request, _("Portal access removed for %(name)s.") % {"name": owner})
        return redirect(self.owner_url(owner))


class PortalLinkMixin:
    """The one-time links of portal accounts. A link for a deactivated account is as good as expired, and one
    for a station-side account opens nothing here (station accounts have the administrator's link)."""

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active and not is_station_side(user) else None


class PortalInviteAcceptView(PortalLinkMixin, auth_views.PasswordResetConfirmView):
    """The invitee sets a password through the one-time link (``REGISTRY["INVITATION_DAYS"]``), is logged in,
    and lands on the portal."""

    form_class = PortalSetPasswordForm
    token_generator = invitation_tokens
    template_name = "portal/accounts/invite_accept.html"
    post_reset_login = True
    # With the axes backend listed first, login() needs to be told which backend vouches for the user.
    post_reset_login_backend = "registry.backends.CachedPermissionsBackend"
    success_url = reverse_lazy("portal:home")

    @transaction.atomic
    def form_valid(self, form):
        response = super().form_valid(form)
        password_reset_used(user=form.user, via="invitation", keep=self.request.session.session_key)
        messages.success(self.request, _("Your password is set. Welcome to the portal."))
        return response


class PortalPasswordResetView(auth_views.PasswordResetView):
    """Ask for a reset link. The same answer whether or not the address is known; rate-limited."""

    form_class = PortalPasswordResetForm
    template_name = "portal/accounts/password_reset_form.html"
    email_template_name = "portal/accounts/password_reset_email.txt"
    subject_template_name = "portal/accounts/password_reset_subject.txt"
    success_url = reverse_lazy("portal:password_reset_done")

    @property
    def extra_email_context(self):
        return {"minutes": settings.PASSWORD_RESET_TIMEOUT // 60}

    def post(self, request, *args, **kwargs):
        # Both counters advance on every request, so neither can be dodged by tripping the other first.
        by_ip = is_ratelimited(request, group="portal:password_reset:ip", key="ip",
                               rate=_reset_rate_per_ip, method="POST", increment=True)
        by_email = is_ratelimited(request, group="portal:password_reset:email", key=_email_key,
                                  rate=_reset_rate_per_email, method="POST", increment=True)
        if by_ip or by_email:
            return render(request, "portal/accounts/rate_limited.html", status=429)
        return super().post(request, *args, **kwargs)


def _email_key(group, request) -> str:
    return request.POST.get("email", "").strip().lower()


class PortalPasswordResetDoneView(auth_views.PasswordResetDoneView):
    template_name = "portal/accounts/password_reset_done.html"


class PortalPasswordResetConfirmView(PortalLinkMixin, auth_views.PasswordResetConfirmView):
    """The emailed link: a new password, within ``PASSWORD_RESET_TIMEOUT``; then every session of the account
    ends and its API tokens are revoked."""

    form_class = PortalSetPasswordForm
    template_name = "portal/accounts/password_reset_confirm.html"
    success_url = reverse_lazy("portal:password_reset_complete")

    @transaction.atomic
    def form_valid(self, form):
        response = super().form_valid(form)
        password_reset_used(user=form.user, via="email")
        return response


class PortalPasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "password/reset_complete.html"  # the same page as after a station account's reset
