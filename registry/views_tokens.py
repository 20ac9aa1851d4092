"""A user's own API tokens in the browser: create (the key is shown once), list with last use, revoke.

The same services as ``/api/v1/tokens/``. Tokens belong to one user: every query starts from
``own_tokens``, so another user's token answers 404 as if it did not exist.
"""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from .forms import ApiTokenForm
from .models import ApiToken
from .services import api_token_create, api_token_revoke


def own_tokens(user):
    return ApiToken.objects.filter(user=user)


def _page(request, form, *, created=None, raw_key="", status=200):
    tokens = own_tokens(request.user).order_by("revoked_at", "-created_at")
    return render(request, "tokens/token_list.html",
                  {"tokens": tokens, "form": form, "created": created, "raw_key": raw_key}, status=status)


@login_required
def token_list(request):
    if request.method != "POST":
        return _page(request, ApiTokenForm())
    form = ApiTokenForm(request.POST)
    if form.is_valid():
        try:
            token, raw = api_token_create(user=request.user, name=form.cleaned_data["name"])
        except ValidationError as exc:
            form.add_error(None, exc)
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
