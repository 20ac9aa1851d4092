"""Request bodies are refused from their size before anything reads them (docs/security.md, "Uploads").

``RequestBodyLimitMiddleware`` answers 413 when the Content-Length is over the upload cap
(``UPLOAD_MAX_BYTES`` plus ``UPLOAD_FORM_BYTES`` for the form around the file), or over
``UPLOAD_ANONYMOUS_MAX_BYTES`` before sign-in; and 411 to a body sent without a Content-Length (chunked):
Django reads no more of a body than its Content-Length says (none without one), so the length is the whole
story. It sits right after the authentication middleware, before any middleware or view reads the body
(CSRF reads the form in ``process_view``, which runs after every middleware's request part). gunicorn then
drains at most 64 KB of the unread body before it closes the connection.

API requests with an ``Authorization`` header carry a token: the API authenticates it before it parses the
body (an unknown one gets 401 unread), so they have the signed-in cap; the header anywhere else changes
nothing.
"""

import logging

from django.conf import settings
from django.http import JsonResponse
from django.shortcuts import render
from django.utils.translation import gettext as _

logger = logging.getLogger(__name__)

BODY_METHODS = {"POST", "PUT", "PATCH", "DELETE"}


def request_max_bytes() -> int:
    """The largest body a signed-in user may send: the upload cap and the form around the file."""
    return settings.UPLOAD_MAX_BYTES + settings.UPLOAD_FORM_BYTES


def size_text(size: int) -> str:
    """A size as the pages state it: "20 MB", "64 KB"."""
    if size >= 1024 * 1024:
        return _("%(size)s MB") % {"size": f"{size / (1024 * 1024):g}"}
    return _("%(size)s KB") % {"size": f"{size / 1024:g}"}


def _content_length(request) -> int | None:
    try:
        return int(request.META.get("CONTENT_LENGTH") or "")
    except ValueError:
        return None


def _api_token_call(request) -> bool:
    # Only the API authenticates a token before it reads the body; elsewhere the header proves nothing.
    return request.path.startswith("/api/") and "HTTP_AUTHORIZATION" in request.META


def _wants_json(request) -> bool:
    return request.path.startswith("/api/") or "application/json" in request.headers.get("Accept", "")


class RequestBodyLimitMiddleware:
    """413 for a body over the cap, 411 for a body without a length; the body is never read."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        refusal = self.refusal(request)
        if refusal is not None:
            return refusal
        return self.get_response(request)

    def refusal(self, request):
        length = _content_length(request)
        if length is None:
            if request.method in BODY_METHODS and "HTTP_TRANSFER_ENCODING" in request.META:
                return self.refuse(request, 411, "length_required", _(
                    "Send the request with a Content-Length header: bodies sent in chunks are not accepted."))
            return None
        if length > request_max_bytes():
            return self.refuse(request, 413, "too_large", _(
                "This upload is larger than %(max)s, the most the registry accepts; nothing was saved. Split the "
                "file into smaller ones (an Excel workbook is smaller than the same rows as CSV) and upload "
                "them one at a time.") % {"max": size_text(settings.UPLOAD_MAX_BYTES)})
        if (length > settings.UPLOAD_ANONYMOUS_MAX_BYTES and not _api_token_call(request)
                and not request.user.is_authenticated):
            return self.refuse(request, 413, "too_large", _(
                "Before you log in, a form may send at most %(max)s; nothing was saved. Log in first.")
                % {"max": size_text(settings.UPLOAD_ANONYMOUS_MAX_BYTES)})
        return None

    def refuse(self, request, status: int, code: str, message: str):
        # The path only: its query string and the body may hold personal data.
        logger.warning("refused a %s body of %s bytes to %s (%s)", request.method,
                       request.META.get("CONTENT_LENGTH") or "unknown", request.path, code)
        if _wants_json(request):
            response = JsonResponse({"error": code, "detail": message, "fields": {}}, status=status)
        else:
            response = render(request, "413.html", {"status": status, "message": message,
                                                    "back_url": request.path}, status=status)
        # A refusal is about this request only: never served again from a cache.
        response["Cache-Control"] = "no-store"
        return response


def check_upload_size(upload, *, field: str) -> None:
    """An uploaded file over ``UPLOAD_MAX_BYTES`` is refused on its form field (the body around it may be a
    little larger, so the middleware lets such a file through to be named here)."""
    from django.core.exceptions import ValidationError

    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError({field: _("File: larger than %(max)s, the most a file may be; split it into smaller "
                                        "files.") % {"max": size_text(settings.UPLOAD_MAX_BYTES)}})
