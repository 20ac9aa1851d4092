from .audit import audit_context


class AuditContextMiddleware:
    """Make the requesting user and address the actor of every audit event in this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = "api" if request.path.startswith("/api/") else "web"
        with audit_context(request=request, ip_address=request.META.get("REMOTE_ADDR"), via=via):
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
