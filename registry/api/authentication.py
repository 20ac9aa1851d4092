from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions

from registry import audit
from registry.models import ApiToken
from registry.services import api_token_user

LAST_USED_RESOLUTION_SECONDS = 60


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>``. The token acts with its owner's scope; each use is audited."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed token header."))
        token = api_token_user(header[1].decode(errors="ignore"))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid or revoked token."))
        now = timezone.now()
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        audit.record(action=audit.AuditAction.TOKEN_USE, user=token.user, object_type="registry.apitoken",
                     object_id=token.pk, changes={"method": request.method, "path": request.path[:200]}, via="api")
        return token.user, token

    def authenticate_header(self, request):
        return self.keyword
