"""QR plaques for properties: the token behind the code, and the printable PDF and PNG.

The QR code holds the absolute URL of a public page (``/q/<token>/``) with an unguessable token.
Tokens are created lazily, the first time a plaque is printed, so that bulk-created properties need
no backfill; rotating one retires every printed copy of the old plaque.
"""

import base64
import io
import re
import secrets
from functools import cache

from django.conf import settings
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from registry import audit

from .extensions import plaque_facts
from .models import Property

# secrets.token_urlsafe(24): 24 random bytes, 32 URL-safe characters.
TOKEN_BYTES = 24
TOKEN_RE = re.compile(r"[A-Za-z0-9_-]{32}")
FONT_PATH = "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc"


def plaque_token_is_well_formed(token: str) -> bool:
    return bool(TOKEN_RE.fullmatch(token or ""))


def _set_token_on_instance(prop: Property, token: str, rotated_at=None) -> None:
    prop.plaque_token = token
    if rotated_at is not None:
        prop.plaque_token_rotated_at = rotated_at
    # The audit trail records the token as "set"/"rotated", never its value: keep a later save() of this
    # instance from diffing the token against the snapshot taken when it was loaded.
    snapshot = getattr(prop, "_audit_snapshot", None)
    if snapshot is not None:
        snapshot["plaque_token"] = prop.plaque_token
        snapshot["plaque_token_rotated_at"] = prop.plaque_token_rotated_at


@transaction.atomic
def plaque_token_ensure(*, prop: Property) -> str:
    """The property's plaque token, created if it has none yet.

    A conditional UPDATE (only while the column is still NULL) lets two concurrent first prints agree
    on one token: the loser's write changes no row, and both re-read the winner's.
    """
    if prop.plaque_token:
        return prop.plaque_token
    won = Property.objects.filter(pk=prop.pk, plaque_token__isnull=True).update(
        plaque_token=secrets.token_urlsafe(TOKEN_BYTES))
    token = Property.objects.values_list("plaque_token", flat=True).get(pk=prop.pk)
    _set_token_on_instance(prop, token)
    if won:
        audit.record(action=audit.AuditAction.UPDATE, obj=prop, changes={"plaque_token": ["", "set"]})
    return token


@transaction.atomic
def plaque_token_rotate(*, prop: Property, actor) -> str:
    """Give the property a new plaque token: the QR code of every plaque printed before stops working."""
    token = secrets.token_urlsafe(TOKEN_BYTES)
    now = timezone.now()
    Property.objects.filter(pk=prop.pk).update(plaque_token=token, plaque_token_rotated_at=now)
    _set_token_on_instance(prop, token, rotated_at=now)
    # Written here rather than by the @audited save signal, which would store the token itself.
    audit.record(action=audit.AuditAction.UPDATE, obj=prop, user=actor,
                 changes={"plaque_token": ["", "rotated"], "plaque_token_rotated_at": [None, now.isoformat()]})
    return token


def plaque_url(prop: Property, request) -> str:
    """The absolute URL of the property's public page, for its QR code (the token is created if needed)."""
    token = plaque_token_ensure(prop=prop)
    return request.build_absolute_uri(reverse("plaque_public", args=[token]))


def plaque_public_facts(prop: Property) -> dict:
    """All the public page shows: the address, the current star rating (0 = not yet rated) and the date the
    property was last checked (its latest visit or inspection). Nothing about the people who live there."""
    return {"address": prop.address, **plaque_facts(prop)}


def plaque_qr_png(url: str, *, box_size: int = 10) -> bytes:
    """A PNG of the QR code for ``url``; error correction Q so a scuffed plaque still scans."""
    import qrcode
    from qrcode.constants import ERROR_CORRECT_Q

    code = qrcode.QRCode(error_correction=ERROR_CORRECT_Q, box_size=box_size, border=4)
    code.add_data(url)
    code.make(fit=True)
    image = code.make_image(fill_color="black", back_color="white")
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _plaque_texts(prop: Property) -> dict:
    # A plaque hangs on a building, not in the clerk's browser: print it in the deployment's language,
    # whatever language the person printing it reads the site in.
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "product": _("Rental housing registration"),
            "station": prop.station.name,
            "address_label": _("Address"),
            "number_label": _("Registration number"),
            "scan": _("Scan to check that this property is registered."),
            "lang": translation.get_language(),
        }


@cache
def _font(size: int):
    from PIL import ImageFont

    return ImageFont.truetype(FONT_PATH, size)


def _wrap(draw, text: str, font, width: int) -> list[str]:
    """Break ``text`` into lines no wider than ``width`` pixels; by character, as CJK text has no spaces."""
    lines, line = [], ""
    for char in text:
        if draw.textlength(line + char, font=font) <= width or not line:
            line += char
        else:
            lines.append(line)
            line = char.lstrip()
    if line:
        lines.append(line)
    return lines


def plaque_png(prop: Property, url: str) -> bytes:
    """The plaque as a PNG (1240×1748 px, A5 at 212 dpi): product and station, address, number, QR code."""
    from PIL import Image, ImageDraw

    texts = _plaque_texts(prop)
    width, height, margin = 1240, 1748, 90
    inner = width - 2 * margin
    image = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(image)
    primary = (13, 59, 102)  # the site's --bs-primary, #0d3b66

    draw.rectangle([0, 0, width, 230], fill=primary)
    size = 88
    while size > 40 and draw.textlength(texts["product"], font=_font(size)) > inner:
        size -= 4
    draw.text((width // 2, 105), texts["product"], font=_font(size), fill="white", anchor="mm")
    draw.text((width // 2, 190), texts["station"], font=_font(44), fill="white", anchor="mm")

    y = 290
    draw.text((margin, y), texts["address_label"], font=_font(36), fill=(90, 90, 90))
    y += 56
    for line in _wrap(draw, prop.address, _font(60), inner)[:3]:
        draw.text((margin, y), line, font=_font(60), fill="black")
        y += 78
    y += 20
    draw.text((margin, y), texts["number_label"], font=_font(36), fill=(90, 90, 90))
    y += 56
    draw.text((margin, y), prop.registration_number or "", font=_font(64), fill="black")
    y += 110

    qr = Image.open(io.BytesIO(plaque_qr_png(url, box_size=20))).convert("RGB")
    side = min(inner, height - y - 150)
    qr = qr.resize((side, side), Image.Resampling.NEAREST)
    image.paste(qr, ((width - side) // 2, y))
    y += side + 20
    for line in _wrap(draw, texts["scan"], _font(36), inner):
        draw.text((width // 2, y), line, font=_font(36), fill=(90, 90, 90), anchor="ma")
        y += 50

    buffer = io.BytesIO()
    image.save(buffer, format="PNG", dpi=(212, 212))
    return buffer.getvalue()


def plaque_pdf(prop: Property, url: str, request) -> bytes:
    """The plaque as an A5 PDF, from ``housing/plaque_pdf.html`` with the QR code embedded as a data: URI."""
    from weasyprint import HTML
    from weasyprint.urls import URLFetcher

    qr_uri = "data:image/png;base64," + base64.b64encode(plaque_qr_png(url)).decode("ascii")
    texts = _plaque_texts(prop)
    with translation.override(texts["lang"]):
        html = render_to_string("housing/plaque_pdf.html", {"property": prop, "qr_uri": qr_uri, "url": url,
                                                            **texts})
    # Only data: URIs are fetched: an address or a template change can never make the renderer call out.
    fetcher = URLFetcher(allowed_protocols={"data"})
    return HTML(string=html, base_url=str(settings.BASE_DIR), url_fetcher=fetcher).write_pdf()
