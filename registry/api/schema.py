"""drf-spectacular extensions: our token authentication, the error answers and the headers we honour."""

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
    "412": "Stale: the record changed since it was read (If-Match / version does not match); nothing changed.",
    "428": "The record's ETag is needed in If-Match (or its version in the body) to change it.",
    "429": "Too many failed sign-ins from this address (locked_out): unknown, expired and revoked tokens count, "
           "like wrong passwords. Every token request from it is refused until Retry-After has passed.",
}
VERSIONED_ACTIONS = {"end", "correct", "approve", "reject", "withdraw", "endorse"}
IDEMPOTENT_ACTIONS = {"create", "register", "move", "arrival", "departure", "issue"}
IF_MATCH_HELP = 'The ETag from the last read (`"<id>-<version>"`), or send `version` in the body.'


class RegistryAutoSchema(AutoSchema):
    """Every operation documents its error answers and the headers it honours (If-Match, Idempotency-Key)."""

    def _action(self) -> str:
        return getattr(self.view, "action", None) or ""

    def _is_versioned(self) -> bool:
        return self.method in ("PUT", "PATCH") or (self.method == "POST" and self._action() in VERSIONED_ACTIONS)

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
        codes = ["400", "401", "403", "429"]
        if "{" in self.path:
            codes.append("404")
        if self._is_versioned():
            codes += ["412", "428"]
        for code in codes:
            if code not in responses:
                responses[code] = self._get_response_for_code(ErrorSerializer, code, direction=direction)
                responses[code]["description"] = ERRORS[code]
        return responses
