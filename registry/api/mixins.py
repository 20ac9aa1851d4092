"""Optimistic concurrency (ETag / If-Match) and idempotent POSTs for API viewsets."""

import hashlib
import json

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _
from rest_framework import status
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from registry.models import IdempotencyRecord

from .exceptions import PreconditionFailed, PreconditionRequired


def etag_for(instance) -> str:
    return f'"{instance.pk}-{instance.version}"'


class VersionedMixin:
    """Reads carry an ETag; writes must send it back in If-Match (or ``version`` in the body).

    A write with a stale version answers 412 and changes nothing; the check is repeated inside
    the write (``versioned_save``) so two concurrent writers can't both pass it.
    """

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        response["ETag"] = etag_for(self._object)
        return response

    def get_object(self):
        self._object = super().get_object()
        return self._object

    def expected_version(self, request, instance) -> int:
        header = request.headers.get("If-Match", "").strip()
        if header.startswith("W/"):
            header = header[2:]
        if header:
            if header != "*" and header != etag_for(instance):
                raise PreconditionFailed()
            return instance.version
        body_version = request.data.get("version") if hasattr(request.data, "get") else None
        if body_version in (None, ""):
            raise PreconditionRequired()
        try:
            body_version = int(body_version)
        except (TypeError, ValueError):
            raise ValidationError({"version": [_("Version: a whole number.")]}) from None
        if body_version != instance.version:
            raise PreconditionFailed()
        return body_version

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        instance = getattr(self, "_written", None)
        if instance is not None and response.status_code < 300:
            response["ETag"] = etag_for(instance)
        return response


class IdempotentCreateMixin:
    """``Idempotency-Key`` on POST: a retried request replays the first answer and creates nothing twice."""

    def idempotent(self, request, handler):
        key = request.headers.get("Idempotency-Key", "").strip()
        if not key:
            return handler()
        if len(key) > 200:
            raise ValidationError({"Idempotency-Key": [_("At most 200 characters.")]})
        fingerprint = hashlib.sha256(
            json.dumps([request.method, request.path, request.data], sort_keys=True, default=str).encode()
        ).hexdigest()
        previous = self._replay(request.user, key, fingerprint)
        if previous is not None:
            return previous
        try:
            with transaction.atomic():
                # Claim the key first: a concurrent duplicate blocks here until this commits, then fails.
                record = IdempotencyRecord.objects.create(user=request.user, key=key, request_hash=fingerprint,
                                                          status_code=0, body=None)
                response = handler()
                if response.status_code >= 400:
                    transaction.set_rollback(True)
                    return response
                record.status_code = response.status_code
                record.body = json.loads(json.dumps(response.data, default=str))
                record.headers = {k: v for k, v in response.items() if k in ("Location", "ETag")}
                IdempotencyRecord.objects.filter(pk=record.pk).update(
                    status_code=record.status_code, body=record.body, headers=record.headers)
                return response
        except IntegrityError:
            previous = self._replay(request.user, key, fingerprint)
            if previous is not None:
                return previous
            raise

    def _replay(self, user, key, fingerprint):
        record = IdempotencyRecord.objects.filter(user=user, key=key).first()
        if record is None:
            return None
        if record.request_hash != fingerprint:
            return Response({"error": "idempotency_key_reused",
                             "detail": _("This Idempotency-Key was used for a different request.")},
                            status=status.HTTP_422_UNPROCESSABLE_ENTITY)
        response = Response(record.body, status=record.status_code, headers=record.headers)
        response["Idempotent-Replayed"] = "true"
        return response
