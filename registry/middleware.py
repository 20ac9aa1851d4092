from django.conf import settings
from qsessions.middleware import SessionMiddleware as AddressedSessionMiddleware

from .audit import audit_context
from .net import client_ip
from .signin import SignInPolicy


def _allowlist_item(origin: str) -> str:
    return origin if origin in ("self", "*") else f'"{origin}"'


class PermissionsPolicyMiddleware:
    """A Permissions-Policy header on every response, from ``settings.PERMISSIONS_POLICY`` (feature → allowed
    origins; an empty list refuses the feature to this page and to anything it embeds)."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.header = ", ".join(f"{feature}=({' '.join(map(_allowlist_item, origins))})"
                                for feature, origins in settings.PERMISSIONS_POLICY.items())

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.header)
        return response


class SessionMiddleware(AddressedSessionMiddleware):
    """Sessions that know their user, browser and client address (django-qsessions), the address read as
    everywhere else (``registry.net.client_ip``): the user's sessions page lists them."""

    def process_request(self, request):
        request.session = self.SessionStore(
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
            session_key=request.COOKIES.get(settings.SESSION_COOKIE_NAME),
        )


class SignInPolicyMiddleware:
    """Right after authentication: a session ends after its role's idle minutes, and a user who must use a
    second factor (or has one) reaches only the second-factor pages, the language switch and logout until
    they have given it (``registry.signin``)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return SignInPolicy(request).respond(self.get_response)

    def process_view(self, request, view_func, view_args, view_kwargs):
        return SignInPolicy(request).refuse_unverified()


class AuditContextMiddleware:
    """Make the requesting user and address the actor of every audit event in this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = "api" if request.path.startswith("/api/") else "web"
        with audit_context(request=request, ip_address=client_ip(request), via=via):
            return self.get_response(request)


class PrivateResponseMiddleware:
    """Pages with personal data must not be cached by shared desk PCs or proxies, and htmx partials
    must not be served from the browser cache in place of whole pages (Back button)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        from django.utils.cache import add_never_cache_headers, patch_cache_control, patch_vary_headers

        response = self.get_response(request)
        patch_vary_headers(response, ("HX-Request",))
        if getattr(request, "user", None) is not None and request.user.is_authenticated:
            add_never_cache_headers(response)
            patch_cache_control(response, private=True)
        return response
