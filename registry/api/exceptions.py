"""One error format for the whole API (documented in docs/api.md):

    {"error": "validation_error", "detail": "...", "fields": {"name": ["..."], ...}}

Django ``ValidationError`` raised by a service becomes a 400 with its field errors (never a 500);
a stale write (``StaleVersionError``, or any service error with the code ``stale``) becomes 412.
Errors inside a list of objects in the body get dotted names: ``outcomes.1.moved_out_on``.
"""

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from rest_framework import exceptions, status
from rest_framework.response import Response
from rest_framework.views import exception_handler

from registry.services import StaleVersionError


class PreconditionFailed(exceptions.APIException):
    status_code = status.HTTP_412_PRECONDITION_FAILED
    default_detail = gettext_lazy("The record changed since you read it; fetch it again and retry with its new ETag.")
    default_code = "stale"


class PreconditionRequired(exceptions.APIException):
    status_code = 428
    default_detail = gettext_lazy(
        "Send the record's ETag in an If-Match header (or its version in the body) to change it.")
    default_code = "precondition_required"


def _django_fields(exc: DjangoValidationError) -> dict:
    if hasattr(exc, "error_dict"):
        return {("non_field_errors" if field == "__all__" else field): [m for e in errors for m in e.messages]
                for field, errors in exc.error_dict.items()}
    return {"non_field_errors": exc.messages}


def _is_stale(exc: DjangoValidationError) -> bool:
    """A service's own staleness check (e.g. the permit's expiry seen by the caller) failed."""
    return not hasattr(exc, "error_dict") and {error.code for error in exc.error_list} == {"stale"}


def flatten_fields(errors, prefix: str = "") -> dict:
    """Field errors as ``{name: [messages]}``: nested objects and lists get dotted names, and a nested
    ``non_field_errors`` belongs to the field that holds it."""
    if isinstance(errors, dict):
        flat = {}
        for key, value in errors.items():
            if prefix:
                name = prefix if key in ("non_field_errors", "__all__") else f"{prefix}.{key}"
            else:
                name = "non_field_errors" if key == "__all__" else str(key)
            for field, messages in flatten_fields(value, name).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    if isinstance(errors, list | tuple) and any(isinstance(item, dict | list | tuple) for item in errors):
        flat = {}
        for index, item in enumerate(errors):
            for field, messages in flatten_fields(item, f"{prefix}.{index}" if prefix else str(index)).items():
                flat.setdefault(field, []).extend(messages)
        return flat
    messages = list(errors) if isinstance(errors, list | tuple) else [errors]
    return {prefix or "non_field_errors": [str(message) for message in messages]} if messages else {}


def api_exception_handler(exc, context):
    if isinstance(exc, StaleVersionError):
        exc = PreconditionFailed()
    elif isinstance(exc, DjangoValidationError) and _is_stale(exc):
        exc = PreconditionFailed(" ".join(exc.messages))
    elif isinstance(exc, DjangoValidationError):
        exc = exceptions.ValidationError(_django_fields(exc))
    elif isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    elif isinstance(exc, exceptions.ParseError):
        # DRF's says what the parser said ("JSON parse error - Expecting value: ..."), in English only.
        exc = exceptions.ParseError(_("The body could not be read: send valid JSON with Content-Type: "
                                      "application/json."))
    response = exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        fields = flatten_fields(response.data)
        body = {"error": "validation_error", "detail": _("Some fields are not valid."), "fields": fields}
    else:
        codes = exc.get_codes() if hasattr(exc, "get_codes") else "error"
        body = {"error": codes if isinstance(codes, str) else "error",
                "detail": response.data.get("detail", "") if isinstance(response.data, dict) else str(response.data)}
    return Response(body, status=response.status_code, headers=dict(response.items()))
