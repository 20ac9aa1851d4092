"""Printing a receipt for the resident (POST: it creates the receipt and is audited) and the public page its QR
code opens, which answers the same "not found" for a malformed and an unknown token and is rate-limited per
client address like the plaque page."""

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.mixins import LoginRequiredMixin, PermissionRequiredMixin
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.utils.cache import add_never_cache_headers, patch_cache_control
from django.utils.http import content_disposition_header
from django.views import View
from django.views.decorators.http import require_safe
from django_ratelimit.decorators import ratelimit

from housing.models import Residence
from registry.scoping import get_object_for_user
from registry.views import StaffPageMixin

from .models import Receipt, ResidencePermit
from .receipts import (
    receipt_issue,
    receipt_load,
    receipt_pdf,
    receipt_public_facts,
    receipt_token_is_well_formed,
    receipt_url,
)


def pdf_response(content: bytes, filename: str) -> HttpResponse:
    """A PDF download that no proxy or shared browser cache keeps: it names the resident."""
    response = HttpResponse(content, content_type="application/pdf")
    response["Content-Disposition"] = content_disposition_header(True, filename)
    add_never_cache_headers(response)
    patch_cache_control(response, private=True)
    return response


class ReceiptPrintView(StaffPageMixin, LoginRequiredMixin, PermissionRequiredMixin, View):
    """POST: a new receipt for a registration or a permit in the user's scope (404 outside it), as a PDF."""

    permission_required = "patrol.add_receipt"
    http_method_names = ["post"]
    queryset = None
    target = ""

    def post(self, request, pk):
        obj = get_object_for_user(self.queryset, request.user, pk=pk)
        try:
            receipt = receipt_issue(actor=request.user, **{self.target: obj})
        except ValidationError as exc:
            messages.warning(request, " ".join(exc.messages))
            return redirect("persons:person_detail", obj.person_id)
        receipt = receipt_load(receipt.pk)
        return pdf_response(receipt_pdf(receipt, receipt_url(receipt, request)),
                            f"receipt-{receipt.kind}-{receipt.issued_on:%Y%m%d}-{receipt.pk}.pdf")


class ResidenceReceiptView(ReceiptPrintView):
    queryset = Residence.objects.all()
    target = "residence"


class PermitReceiptView(ReceiptPrintView):
    queryset = ResidencePermit.objects.all()
    target = "permit"


# ---- The public page behind the QR code --------------------------------------------------------------


def receipt_rate(group, request) -> str:
    """Requests allowed per client address (REGISTRY["RECEIPT_RATE_LIMIT"], else the plaque page's limit)."""
    return settings.REGISTRY.get("RECEIPT_RATE_LIMIT") or settings.REGISTRY.get("PLAQUE_RATE_LIMIT", "30/m")


def _public_response(request, context: dict, status: int) -> HttpResponse:
    response = render(request, "patrol/receipt_public.html", context, status=status)
    # Nobody's copy of the page outlives the visit, and the token in the URL goes to no other site.
    add_never_cache_headers(response)
    response["Referrer-Policy"] = "no-referrer"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


@ratelimit(key="ip", rate=receipt_rate, block=False)
@require_safe
def receipt_public(request, token: str):
    """``/r/<token>/``: which station issued the receipt, and when; the same to everyone, signed in or not."""
    if getattr(request, "limited", False):
        return _public_response(request, {"state": "limited"}, status=429)
    receipt = None
    if receipt_token_is_well_formed(token):
        receipt = Receipt.objects.select_related("station").filter(token=token).first()
    if receipt is None:
        return _public_response(request, {"state": "not_found"}, status=404)
    return _public_response(request, {"state": "found", **receipt_public_facts(receipt)}, status=200)
