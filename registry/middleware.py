from .audit import audit_context


class AuditContextMiddleware:
    """Make the requesting user and address the actor of every audit event in this request."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        via = "api" if request.path.startswith("/api/") else "web"
        with audit_context(request=request, ip_address=request.META.get("REMOTE_ADDR"), via=via):
            return self.get_response(request)
