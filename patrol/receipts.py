"""Receipts for residents (issue 17, point 3): after a registration or a residence permit, a printable A4 PDF
to hand the resident, whose QR code opens a public check page (``/r/<token>/``).

The check page says only "a registration receipt issued by <station> on <date>": a token is all it needs,
and nothing personal is reachable from it. Each print makes a new receipt row with its own random token, and
is audited as an export of the person's record (the PDF carries their name).
"""

import base64
import re
import secrets

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from housing.models import CURRENT_RESIDENCE_STATUSES, Residence
from housing.plaques import plaque_qr_png
from registry import audit
from registry.models import AuditAction

from .models import Receipt, ReceiptKindChoices, ResidencePermit

TOKEN_BYTES = 24  # secrets.token_urlsafe(24): 32 URL-safe characters, as the plaques'
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")


def receipt_token_is_well_formed(token: str) -> bool:
    return bool(TOKEN_RE.fullmatch(token or ""))


def residence_registration_number(residence: Residence) -> str:
    """The registration's number as printed: the station's and the residence's ids, like a property's number."""
    return f"{residence.station_id:03d}-R{residence.pk:07d}"


def receipt_check_issue(*, residence: Residence | None = None, permit: ResidencePermit | None = None) -> None:
    """A receipt is for one current registration (a resident who has moved out gets none) or one permit."""
    if (residence is None) == (permit is None):
        raise ValidationError(_("A receipt is for one registration or one residence permit."), code="target")
    if residence is not None and residence.status not in CURRENT_RESIDENCE_STATUSES:
        raise ValidationError(_("This registration has ended: there is no receipt to print for it."),
                              code="ended")


@transaction.atomic
def receipt_issue(*, actor, residence: Residence | None = None, permit: ResidencePermit | None = None,
                  via: str = "web") -> Receipt:
    """A new receipt for a registration or a permit, with its own random token; audited as an export of the
    person's record (the printed receipt names them). The caller has checked the target is in the actor's scope."""
    receipt_check_issue(residence=residence, permit=permit)
    target = residence if residence is not None else permit
    receipt = Receipt(
        token=secrets.token_urlsafe(TOKEN_BYTES),
        kind=ReceiptKindChoices.REGISTRATION if residence is not None else ReceiptKindChoices.PERMIT,
        station_id=target.station_id, issued_on=timezone.localdate(), residence=residence, permit=permit,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
    )
    receipt.full_clean()
    receipt.save()
    # On the person, so that the person's trail (and their access report) shows the print; never the token.
    audit.record(action=AuditAction.EXPORT, object_type="persons.person", object_id=target.person_id,
                 station_id=receipt.station_id, user=actor, via=via,
                 changes={"rows": 1, "receipt": receipt.kind, "receipt_id": receipt.pk,
                          receipt.kind: target.pk})
    return receipt


def receipt_url(receipt: Receipt, request) -> str:
    return request.build_absolute_uri(reverse("receipt_public", args=[receipt.token]))


def receipt_context(receipt: Receipt) -> dict:
    """What the printed receipt shows: the resident's name, the registration (number, address, date) or the
    permit (number, dates), the station and the date printed."""
    context = {"receipt": receipt, "station": receipt.station.name}
    if receipt.residence_id:
        residence = receipt.residence
        context.update(person=residence.person, number=residence_registration_number(residence),
                       address=residence.unit.property.address, unit=residence.unit.label,
                       community=residence.unit.property.community.name, start_date=residence.start_date)
    else:
        permit = receipt.permit
        context.update(person=permit.person, number=permit.number, issued_on=permit.issued_on,
                       expires_on=permit.expires_on, last_endorsed_on=permit.last_endorsed_on)
    return context


def receipt_load(pk: int) -> Receipt:
    return Receipt.objects.select_related(
        "station", "residence__person", "residence__unit__property__community", "permit__person").get(pk=pk)


def receipt_html(receipt: Receipt, url: str, *, language: str | None = None) -> str:
    qr_uri = "data:image/png;base64," + base64.b64encode(plaque_qr_png(url)).decode("ascii")
    with translation.override(language or translation.get_language()):
        return render_to_string("patrol/receipt_pdf.html", {**receipt_context(receipt), "qr_uri": qr_uri,
                                                             "url": url})


def receipt_pdf(receipt: Receipt, url: str, *, language: str | None = None) -> bytes:
    """The receipt as an A4 PDF, in ``language`` (the reader's by default: a resident who reads English gets it
    printed by a clerk who switched the site to English)."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    # Only data: URIs (the QR code) are fetched: no value in the receipt can make the renderer call out.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=receipt_html(receipt, url, language=language), base_url=str(settings.BASE_DIR),
                url_fetcher=fetcher).write_pdf()


def receipt_public_facts(receipt: Receipt) -> dict:
    """All the public page shows: the kind, the station and the date. Nothing about the resident."""
    return {"kind": receipt.kind, "station": receipt.station.name, "issued_on": receipt.issued_on}
