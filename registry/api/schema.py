"""drf-spectacular extensions: our token authentication, the error answers and the headers we honour.

The schema promises every status a caller can get and nothing else (tests/api/test_schemathesis.py holds it
to that, as staff and as a landlord): errors in the one format, 412/428 where If-Match counts, 422 where an
Idempotency-Key is honoured, and ``""`` in an enum wherever the model allows a blank choice.
"""

import copy

from django.core.exceptions import FieldDoesNotExist
from django.db import models
from drf_spectacular.extensions import OpenApiAuthenticationExtension
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.utils import OpenApiParameter
from rest_framework import serializers

from .mixins import IdempotentCreateMixin


class ApiTokenScheme(OpenApiAuthenticationExtension):
    target_class = "registry.api.authentication.ApiTokenAuthentication"
    name = "tokenAuth"

    def get_security_definition(self, auto_schema):
        return {"type": "apiKey", "in": "header", "name": "Authorization",
                "description": "`Token <key>`; create keys at /api/v1/tokens/."}


class ErrorSerializer(serializers.Serializer):
    """The API's one error format (docs/api.md)."""

    error = serializers.CharField(help_text="A stable code: validation_error, not_found, stale, ...")
    detail = serializers.CharField(help_text="A sentence in the caller's language.")
    fields = serializers.DictField(child=serializers.ListField(child=serializers.CharField()), required=False,
                                   help_text="Validation errors: field name -> messages.")


ERRORS = {
    "400": "Bad input: the fields and the reasons (validation_error).",
    "401": "Not authenticated: send `Authorization: Token <key>` or log in. The error says why: "
           "authentication_failed (no such token), token_expired (with the date) or token_revoked.",
    "403": "Authenticated, but the role lacks the permission, or a read-only token tried to write "
           "(read_only_token).",
    "404": "No such record within the caller's scope (outside it, a record does not exist).",
    "406": "The Accept header asks for a format the API cannot answer in (it answers JSON).",
    "412": "Stale: the record changed since it was read (If-Match / version does not match); nothing changed.",
    "415": "The body's Content-Type is not one the operation reads (send JSON: `application/json`).",
    "422": "The Idempotency-Key was used before for a different request (idempotency_key_reused); nothing "
           "changed. Use a new key for a new request.",
    "428": "The record's ETag is needed in If-Match (or its version in the body) to change it.",
    "429": "Too many failed sign-ins from this address (locked_out): unknown, expired and revoked tokens count, "
           "like wrong passwords. Every token request from it is refused until Retry-After has passed.",
}
IDEMPOTENT_ACTIONS = {"create", "register", "move", "arrival", "departure", "issue"}
# A POST action on one record changes that record and so needs If-Match (end, correct, approve, replace-document,
# check-out, ... and whatever is added later), unless it creates a new record (above) or is one of these.
UNVERSIONED_ACTIONS = {"unmask", "revoke"}
IF_MATCH_HELP = 'The ETag from the last read (`"<id>-<version>"`), or send `version` in the body.'


class RegistryAutoSchema(AutoSchema):
    """Every operation documents its error answers and the headers it honours (If-Match, Idempotency-Key)."""

    def _action(self) -> str:
        return getattr(self.view, "action", None) or ""

    def _is_versioned(self) -> bool:
        if self.method in ("PUT", "PATCH"):
            return True
        action = self._action()
        detail_action = getattr(getattr(self.view, action, None), "detail", False) is True
        return (self.method == "POST" and detail_action and action not in IDEMPOTENT_ACTIONS
                and action not in UNVERSIONED_ACTIONS)

    def _is_idempotent(self) -> bool:
        return (self.method == "POST" and isinstance(self.view, IdempotentCreateMixin)
                and self._action() in IDEMPOTENT_ACTIONS)

    def get_override_parameters(self):
        parameters = list(super().get_override_parameters())
        if self._is_versioned():
            parameters.append(OpenApiParameter(
                "If-Match", str, OpenApiParameter.HEADER, required=False,
                description=getattr(self.view, "if_match_help", IF_MATCH_HELP)))
        if self._is_idempotent():
            parameters.append(OpenApiParameter(
                "Idempotency-Key", str, OpenApiParameter.HEADER, required=False,
                description="Any unique string (≤ 200): a retry with the same key and body replays the first "
                            "answer and creates nothing twice."))
        return parameters

    def _get_response_bodies(self, direction="response"):
        responses = super()._get_response_bodies(direction)
        codes = ["400", "401", "403", "406", "429"]
        if "{" in self.path:
            codes.append("404")
        if self.method in ("POST", "PUT", "PATCH"):
            codes.append("415")
        if self._is_versioned():
            codes += ["412", "428"]
        if self._is_idempotent():
            codes.append("422")
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERRORS[code]
        return responses

    def _map_serializer_field(self, field, direction, bypass_extensions=False):
        return super()._map_serializer_field(_with_model_blank(field), direction, bypass_extensions)


def _with_model_blank(field):
    """A read-only choice field of a model field that may be blank answers ``""``; DRF drops ``allow_blank``
    from read-only fields, so the schema would list the choices only (``Submission.sex`` of a departure,
    ``Residence.end_reason`` of a current residence). Give such a field its model's blank back."""
    if not isinstance(field, serializers.ChoiceField) or isinstance(field, serializers.MultipleChoiceField):
        return field
    if field.allow_blank or not field.read_only or not isinstance(field.parent, serializers.ModelSerializer):
        return field
    try:
        model_field = field.parent.Meta.model._meta.get_field(field.source)
    except (AttributeError, FieldDoesNotExist):
        return field
    if not (getattr(model_field, "blank", False) and isinstance(model_field, models.CharField | models.TextField)):
        return field
    field = copy.copy(field)
    field.allow_blank = True
    return field
