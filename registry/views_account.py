"""Signing in and the user's own account pages: the login (refused while locked out), the second factor
(the code after the password, enrolment, the devices), and the user's sessions.

The rules are in ``registry.signin``, ``registry.lockout`` and ``registry.second_factor``; these views check
access and show the result.
"""

import base64
import hashlib
import io
from functools import cache

import qrcode
from django import forms
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.auth.signals import user_login_failed
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.decorators import method_decorator
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.safestring import mark_safe
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views import View
from django.views.decorators.http import require_POST
from qrcode.image.svg import SvgPathImage
from qsessions.models import Session
from ua_parser import parse as parse_user_agent

from .audit import record
from .forms import BootstrapFormMixin
from .lockout import locked_response, signin_refused
from .models import AuditAction
from .second_factor import (
    authenticators,
    check_device_remove,
    recovery_codes_left,
    recovery_codes_new,
    second_factor_verify,
    totp_enrol,
    totp_pending,
    totp_remove,
)
from .signin import STATE_KEY, has_device, is_verified, second_factor_required, sessions_end


class LoginView(auth_views.LoginView):
    """The one login page (station staff, portal accounts, the admin). A locked address, or an account
    locked at this address, is refused before the password is checked, with the same page either way."""

    redirect_authenticated_user = True

    def post(self, request, *args, **kwargs):
        username = request.POST.get("username", "")
        if signin_refused(request, username):
            return locked_response(request, username)
        return super().post(request, *args, **kwargs)


def _next_url(request, default: str = "home") -> str:
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}, request.is_secure()):
        return target
    return reverse(default)


class CodeForm(BootstrapFormMixin, forms.Form):
    code = forms.CharField(
        label=gettext_lazy("Code"), max_length=32,
        error_messages={"required": gettext_lazy("Code: type the 6 digits your app shows, or a recovery code.")},
        widget=forms.TextInput(attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True,
                                      "autocapitalize": "none", "spellcheck": "false"}))


class ConfirmPasswordForm(BootstrapFormMixin, forms.Form):
    """Changes to how one signs in ask for the password again (ASVS 5.0 7.5.1, 7.5.2)."""

    password = forms.CharField(
        label=gettext_lazy("Your password"), strip=False,
        error_messages={"required": gettext_lazy("Your password: type it again to confirm this change.")},
        widget=forms.PasswordInput(attrs={"autocomplete": "current-password"}))

    def __init__(self, *args, request, **kwargs):
        super().__init__(*args, **kwargs)
        self.request = request

    def clean_password(self):
        password = self.cleaned_data["password"]
        user = self.request.user
        if not user.check_password(password):
            # A wrong password here counts like one at the login: this page must not help guess it.
            user_login_failed.send(sender=__name__, credentials={"username": user.get_username()},
                                   request=self.request)
            raise ValidationError(_("Your password: not correct."), code="wrong_password")
        return password


def _confirmed(request) -> tuple[bool, object]:
    """(whether the POST carries the user's password, the response if the user is now locked out)."""
    form = ConfirmPasswordForm(request.POST, request=request)
    if form.is_valid():
        return True, None
    if signin_refused(request, request.user.get_username()):
        username = request.user.get_username()
        logout(request)
        return False, locked_response(request, username)
    messages.error(request, form.errors["password"][0])
    return False, None


@method_decorator(login_required, name="dispatch")
class SecondFactorVerifyView(View):
    """After the password: the code from the authenticator app, or a recovery code."""

    template_name = "account/otp_verify.html"

    def get(self, request):
        if is_verified(request):
            return redirect(_next_url(request))
        if not has_device(request.user):
            return redirect(f"{reverse('account:otp_setup')}?{request.GET.urlencode()}")
        return self.page(CodeForm())

    def post(self, request):
        user = request.user
        if signin_refused(request, user.get_username()):
            logout(request)
            return locked_response(request, user.get_username())
        form = CodeForm(request.POST)
        if form.is_valid():
            if second_factor_verify(request=request, code=form.cleaned_data["code"]) is not None:
                return redirect(_next_url(request))
            if signin_refused(request, user.get_username()):
                logout(request)
                return locked_response(request, user.get_username())
            form.add_error("code", _("Code: not accepted. Type the 6 digits your app shows now, or an unused "
                                     "recovery code."))
        return self.page(form)

    def page(self, form, status=200):
        return render(self.request, self.template_name, {"form": form, "next": _next_url(self.request)},
                      status=status)


@cache
def _qr_svg(url: str) -> str:
    """The QR code as one inline SVG path (the secret is in it: never an image URL, which a log would keep)."""
    out = io.BytesIO()
    qrcode.make(url, image_factory=SvgPathImage, border=2).save(out)
    svg = out.getvalue().decode()
    return svg[svg.index("<svg"):]


@method_decorator(login_required, name="dispatch")
class SecondFactorSetupView(View):
    """Enrol an authenticator app: scan the QR code, type a code it shows, keep the recovery codes."""

    template_name = "account/otp_setup.html"

    def dispatch(self, request, *args, **kwargs):
        # Adding a device to an account that has one needs that one first: a password alone adds nothing.
        if has_device(request.user) and not is_verified(request):
            return redirect(f"{reverse('account:otp_verify')}?{request.GET.urlencode()}")
        return super().dispatch(request, *args, **kwargs)

    def get(self, request):
        return self.page(CodeForm())

    def post(self, request):
        form = CodeForm(request.POST)
        if has_device(request.user):  # another app: the password again, as for every change of factor
            confirmed, refused = _confirmed(request)
            if not confirmed:
                return refused or self.page(form)
        if form.is_valid():
            try:
                codes = totp_enrol(request=request, device=totp_pending(request.user), code=form.cleaned_data["code"])
            except ValidationError as exc:
                form.add_error("code", exc.message_dict.get("code", exc.messages))
            else:
                _factors_changed(request)
                # Rendered, not redirected: the codes are shown once and ride in no cookie or session.
                return render(request, "account/recovery_codes.html",
                              {"codes": codes, "next": _next_url(request, "account:otp_manage"), "enrolled": True})
        return self.page(form)

    def page(self, form, status=200):
        device = totp_pending(self.request.user)
        return render(self.request, self.template_name, {
            "form": form, "next": _next_url(self.request, "account:otp_manage"),
            # Only inline: the secret appears in no URL (and so in no log).
            "qr_svg": mark_safe(_qr_svg(device.config_url)),  # noqa: S308 - the SVG is made here, from our data
            "secret": _spaced(device.key), "required": second_factor_required(self.request.user),
            # On the phone itself there is nothing to scan: the otpauth:// link opens the authenticator app.
            "config_url": device.config_url,
            "confirm": ConfirmPasswordForm(request=self.request) if has_device(self.request.user) else None,
        }, status=status)


def _spaced(hex_key: str) -> str:
    """The secret as the app's "enter a key" field wants it: base32, in groups of four."""
    text = base64.b32encode(bytes.fromhex(hex_key)).decode().rstrip("=")
    return " ".join(text[i:i + 4] for i in range(0, len(text), 4))


@login_required
def second_factor_manage(request):
    """The user's authenticator apps and recovery codes."""
    return render(request, "account/otp_manage.html", {
        "devices": authenticators(request.user), "codes_left": recovery_codes_left(request.user),
        "required": second_factor_required(request.user), "verified": is_verified(request),
        "confirm": ConfirmPasswordForm(request=request),
    })


@login_required
@require_POST
def recovery_codes_renew(request):
    if not is_verified(request):
        return redirect(f"{reverse('account:otp_verify')}?next={reverse('account:otp_manage')}")
    confirmed, refused = _confirmed(request)
    if not confirmed:
        return refused or redirect("account:otp_manage")
    codes = recovery_codes_new(user=request.user)
    _factors_changed(request)
    return render(request, "account/recovery_codes.html",
                  {"codes": codes, "next": reverse("account:otp_manage"), "enrolled": False})


@login_required
@require_POST
def second_factor_remove(request, pk: int):
    device = get_object_or_404(authenticators(request.user), pk=pk)
    if not is_verified(request):
        return redirect(f"{reverse('account:otp_verify')}?next={reverse('account:otp_manage')}")
    confirmed, refused = _confirmed(request)
    if not confirmed:
        return refused or redirect("account:otp_manage")
    try:
        check_device_remove(user=request.user, device=device)
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        totp_remove(user=request.user, device=device)
        _factors_changed(request)
        if not authenticators(request.user).exists():
            request.session[STATE_KEY] = {"needed": second_factor_required(request.user), "device": False}
        messages.success(request, _("Authenticator app “%(name)s” removed.") % {"name": device.name})
    return redirect("account:otp_manage")


def _factors_changed(request) -> None:
    """After a change of second factor: every other session ends (ASVS 5.0 7.4.3)."""
    ended = sessions_end(user=request.user, keep=request.session.session_key, reason="second factor changed")
    if ended:
        messages.info(request, _("Your other sessions were signed out (%(count)d).") % {"count": ended})


# --- sessions --------------------------------------------------------------------------------------------

def session_ref(session_key: str) -> str:
    """How the page names a session: never its key, which would let a script on the page take it over."""
    return hashlib.sha256(session_key.encode()).hexdigest()[:16]


def _browser(user_agent: str | None) -> str:
    if not user_agent:
        return _("Unknown browser")
    found = parse_user_agent(user_agent)
    agent = found.user_agent.family if found.user_agent else _("Unknown browser")
    system = found.os.family if found.os else ""
    return f"{agent} · {system}" if system and system != "Other" else agent


def _own_sessions(request):
    sessions = list(Session.objects.filter(user=request.user, expire_date__gt=timezone.now())
                    .only("session_key", "user_agent", "ip", "created_at", "updated_at").order_by("-updated_at"))
    for session in sessions:
        session.ref = session_ref(session.session_key)
        session.browser = _browser(session.user_agent)
        session.is_current = session.session_key == request.session.session_key
    return sessions


@login_required
def sessions_list(request):
    if request.method == "POST":
        confirmed, refused = _confirmed(request)
        if not confirmed:
            return refused or redirect("account:sessions")
        which = request.POST.get("session", "")
        if which == "others":
            ended = sessions_end(user=request.user, keep=request.session.session_key, reason="signed out elsewhere")
            messages.success(request, _("Signed out everywhere else (%(count)d sessions).") % {"count": ended})
        else:
            chosen = [s for s in _own_sessions(request) if s.ref == which and not s.is_current]
            if chosen:
                Session.objects.filter(session_key=chosen[0].session_key).delete()
                record(action=AuditAction.SESSIONS_ENDED, object_type="auth.user", object_id=request.user.pk,
                       changes={"sessions": 1}, reason="signed out one session")
                messages.success(request, _("That session is signed out."))
        return redirect("account:sessions")
    return render(request, "account/sessions.html",
                  {"sessions": _own_sessions(request), "confirm": ConfirmPasswordForm(request=request)})
