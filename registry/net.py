"""The client's address: one function for everything that counts or records it (lock-outs, rate limits,
sessions, the audit trail).

Behind a reverse proxy every request comes from the proxy; ``CLIENT_IP_HEADER`` names the one header the
proxy sets with the client's address (e.g. ``HTTP_X_REAL_IP``), read through django-ipware. Only that
header, and only when the setting is set: without it, a header the client sends (a forged
``X-Forwarded-For``) changes nothing and the address is ``REMOTE_ADDR``.
"""

from django.conf import settings
from ipware import get_client_ip


def client_ip(request) -> str | None:
    header = settings.CLIENT_IP_HEADER
    if header:
        found, _routable = get_client_ip(request, request_header_order=[header])
        if found:
            return found
    return request.META.get("REMOTE_ADDR") or None


def ratelimit_ip(request) -> str:
    """django-ratelimit's ``RATELIMIT_IP_META_KEY`` callable: the same address."""
    return client_ip(request) or ""
