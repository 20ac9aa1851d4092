"""QR plaques: the staff downloads and token rotation, and the public page a plaque's QR code opens.

The public page answers the same plain "not found" for a malformed, an unknown and a rotated token, is
rate-limited per client address, and shows nothing about the people who live at the property.
"""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.cache import add_never_cache_headers
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _
from django.views import View
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit

from registry.scoping import get_object_for_user, scope_for

from .models import Property
from .plaques import (
    plaque_pdf,
    plaque_png,
    plaque_public_facts,
    plaque_token_is_well_formed,
    plaque_token_rotate,
    plaque_url,
)
from .views import StaffPageMixin

PLAQUE_FORMATS = {
    "pdf": ("application/pdf", lambda prop, url, request: plaque_pdf(prop, url, request)),
    "png": ("image/png", lambda prop, url, request: plaque_png(prop, url)),
}


class PropertyPlaqueView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """GET ``?format=pdf|png``: the property's printable plaque, as a download."""

    permission_required = "housing.view_property"

    def get(self, request, pk):
        prop = get_object_for_user(Property.objects.select_related("station"), request.user, pk=pk)
        fmt = request.GET.get("format", "pdf")
        if fmt not in PLAQUE_FORMATS:
            raise Http404
        content_type, render_plaque = PLAQUE_FORMATS[fmt]
        response = HttpResponse(render_plaque(prop, plaque_url(prop, request), request), content_type=content_type)
        filename = f"plaque-{prop.registration_number or prop.pk}.{fmt}"
        response["Content-Disposition"] = content_disposition_header(True, filename)
        return response


class PropertyPlaqueRotateView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST: a new QR code for the property; every plaque printed before stops working."""

    permission_required = "housing.change_property"
    http_method_names = ["post"]

    def post(self, request, pk):
        prop = get_object_for_user(Property.objects.all(), request.user, pk=pk)
        plaque_token_rotate(prop=prop, actor=request.user)
        messages.success(request, _("New QR code made. Plaques printed before no longer work: print a new one "
                                    "and replace the old plaque."))
        return redirect("housing:property_detail", pk=prop.pk)


# ---- The public page behind the QR code --------------------------------------------------------------


def plaque_rate(group, request) -> str:
    """Requests allowed per client address, e.g. ``30/m`` (REGISTRY["PLAQUE_RATE_LIMIT"])."""
    return settings.REGISTRY.get("PLAQUE_RATE_LIMIT", "30/m")


def plaque_landing_url(user, prop: Property) -> str | None:
    """Where a logged-in user who may see ``prop`` lands instead of the public page, or None.

    Station staff (and supervisors, administrators) go to the property page, with the call to record a
    visit; the landlord or employer who owns it goes to their portal. Anyone else gets the public page,
    so the redirect never tells an outsider which record the plaque belongs to.
    """
    if not user.is_authenticated or not Property.objects.visible_to(user).filter(pk=prop.pk).exists():
        return None
    scope = scope_for(user)
    if (scope.is_global or scope.station_ids) and user.has_perm("housing.view_property"):
        return reverse("housing:property_detail", args=[prop.pk]) + "?from=plaque"
    if scope.landlord_id or scope.employer_id:
        try:
            return reverse("portal:property_detail", args=[prop.pk])
        except NoReverseMatch:
            return reverse("portal:home")
    return None


def _public_response(request, context: dict, status: int) -> HttpResponse:
    response = render(request, "housing/plaque_public.html", context, status=status)
    # Nobody's copy of the page outlives the visit, and the token in the URL goes to no other site.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@ratelimit(key="ip", rate=plaque_rate, block=False)
@require_safe
def plaque_public(request, token: str):
    """``/q/<token>/``: what a scanned plaque shows to anyone; staff and the owner are sent on."""
    if getattr(request, "limited", False):
        return _public_response(request, {"state": "limited"}, status=429)
    prop = None
    if plaque_token_is_well_formed(token):
        prop = Property.objects.filter(plaque_token=token).only("id", "address", "station_id", "landlord_id",
                                                                "employer_id").first()
    if prop is None:
        return _public_response(request, {"state": "not_found"}, status=404)
    landing = plaque_landing_url(request.user, prop)
    if landing:
        return redirect(landing)
    return _public_response(request, {"state": "found", **plaque_public_facts(prop)}, status=200)
