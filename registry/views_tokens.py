"""A user's own API tokens in the browser: create (the key is shown once) with an expiry and optionally
read-only, list with their state and last use, revoke.

The same services as ``/api/v1/tokens/``. Tokens belong to one user: every query starts from
``own_tokens``, so another user's token answers 404 as if it did not exist. Creating one needs a session
verified with a second factor (a user without a device is asked to set one up first) and an address that is
not locked out; revoking needs neither.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.db.models import F
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm, add_service_error
from .lockout import address_locked, locked_response
from .models import ApiToken
from .net import client_ip
from .services import api_token_create, api_token_revoke, api_token_state
from .signin import has_device, is_verified, second_factor_url


def own_tokens(user):
    return ApiToken.objects.filter(user=user)


def _page(request, form, *, created=None, raw_key="", status=200):
    now = timezone.now()
    tokens = list(own_tokens(request.user).order_by(F("revoked_at").asc(nulls_first=True), "-created_at"))
    for token in tokens:
        token.state = api_token_state(token, now=now)
    verified = is_verified(request)
    return render(request, "tokens/token_list.html", {
        "tokens": tokens, "form": form, "created": created, "raw_key": raw_key, "verified": verified,
        # Where an unverified session gives its second factor (or sets one up) and comes back here.
        "second_factor_url": "" if verified else second_factor_url(request),
        "has_device": True if verified else has_device(request.user),
    }, status=status)


@login_required
def token_list(request):
    if request.method != "POST":
        return _page(request, ApiTokenForm())
    if address_locked(client_ip(request)):
        return locked_response(request)
    if not is_verified(request):
        return redirect(second_factor_url(request))
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(user=request.user, **form.cleaned_data)
        except ValidationError as exc:
            add_service_error(form, exc)
        else:
            # Rendered, not redirected: the key must not ride in a cookie or the session.
            return _page(request, ApiTokenForm(), created=token, raw_key=raw, status=201)
    return _page(request, form, status=400)


@login_required
@require_POST
def token_revoke(request, pk: int):
    token = get_object_or_404(own_tokens(request.user), pk=pk)
    if token.revoked_at is None:
        api_token_revoke(token=token)
        messages.success(request, _("Token “%(name)s” revoked: requests that use it are now refused.")
                         % {"name": token.name})
    return redirect("tokens:list")
