"""``Authorization: Token <key>`` for other systems, and the rules every token request meets (docs/api.md):

* From an address with too many failed sign-ins (``registry.lockout``) any token is refused with 429 before
  it is looked at, so guessing learns nothing; an unknown, expired or revoked token counts as one failure.
* 401 says which: an expired token ("expired on <date>", code ``token_expired``), a revoked one
  (``token_revoked``); anything else is "Invalid token." (``authentication_failed``) and nothing more.
* A read-only token may make safe requests (GET, HEAD, OPTIONS) and gets 403 (``read_only_token``) on any
  other, whatever the endpoint: the rule lives here, where every API view passes, not in each view's
  permission classes (several views set their own).
"""

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions, permissions, status

from registry import audit
from registry.lockout import address_failed, address_locked
from registry.models import ApiToken
from registry.net import client_ip
from registry.services import API_TOKEN_EXPIRED, API_TOKEN_REVOKED, api_token_find, api_token_state

LAST_USED_RESOLUTION_SECONDS = 60
# A refused address or an expired token is audited at most this often: a loop must not flood the trail.
LOCKED_AUDIT_SECONDS = 60
EXPIRED_AUDIT_SECONDS = 24 * 3600


class AddressLocked(exceptions.APIException):
    """429: too many failed sign-ins from the caller's address. (Here, not in ``.exceptions``: DRF imports
    the authentication classes while ``rest_framework.views``, which that module needs, is still loading.)"""

    status_code = status.HTTP_429_TOO_MANY_REQUESTS
    default_detail = _("Too many failed sign-ins from this address: try again in a few minutes.")
    default_code = "locked_out"

    def __init__(self, *, wait: int):
        super().__init__()
        self.wait = wait  # DRF's exception handler turns it into Retry-After


def refuse_locked_address(request) -> None:
    """429 if the caller's address is locked out; the refusal is audited at most once a minute."""
    address = client_ip(request)
    if not address_locked(address):
        return
    if cache.add(f"api-locked-audited:{address}", 1, LOCKED_AUDIT_SECONDS):
        audit.record(action=audit.AuditAction.LOCKED_OUT, user=None, reason="address", via="api")
    raise AddressLocked(wait=settings.REGISTRY["ADDRESS_FAILURE_MINUTES"] * 60)


class ApiTokenAuthentication(authentication.BaseAuthentication):
    """``Authorization: Token <key>``. The token acts with its owner's scope (read-only: safe methods only);
    each use is audited."""

    keyword = "Token"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).split()
        if not header or header[0].lower() != self.keyword.lower().encode():
            return None
        if len(header) != 2:
            raise exceptions.AuthenticationFailed(_("Malformed token header."))
        refuse_locked_address(request)
        token = api_token_find(header[1].decode(errors="ignore"))
        now = timezone.now()
        state = api_token_state(token, now=now) if token is not None else None
        if state is None or state in (API_TOKEN_EXPIRED, API_TOKEN_REVOKED):
            address_failed(client_ip(request))
        if token is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        if state == API_TOKEN_REVOKED:
            raise exceptions.AuthenticationFailed(_("This API token was revoked."), code="token_revoked")
        if state == API_TOKEN_EXPIRED:
            self.expired_used(request, token)
            raise exceptions.AuthenticationFailed(
                _("This API token expired on %(date)s.") % {"date": timezone.localdate(token.expires_at).isoformat()},
                code="token_expired")
        if token.last_used_at is None or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS:
            ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
        audit.record(action=audit.AuditAction.TOKEN_USE, user=token.user, object_type="registry.apitoken",
                     object_id=token.pk, changes={"method": request.method, "path": request.path[:200]}, via="api")
        if token.read_only and request.method not in permissions.SAFE_METHODS:
            raise exceptions.PermissionDenied(
                _("This API token is read-only: it may read (GET, HEAD, OPTIONS) but not change anything."),
                code="read_only_token")
        return token.user, token

    @staticmethod
    def expired_used(request, token) -> None:
        """Audit that an expired token was presented: once a day per token, however often it is tried."""
        # Keyed by the day, not only timed: a cache's expiry runs on its own clock (Redis's).
        if cache.add(f"api-token-expired-audited:{token.pk}:{timezone.localdate().isoformat()}", 1,
                     EXPIRED_AUDIT_SECONDS):
            audit.record(action=audit.AuditAction.TOKEN_EXPIRED, user=token.user, object_type="registry.apitoken",
                         object_id=token.pk, via="api", changes={
                             "expires_at": token.expires_at.isoformat(), "method": request.method,
                             "path": request.path[:200]})

    def authenticate_header(self, request):
        return self.keyword
