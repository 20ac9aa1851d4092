"""``/api/v1/audit-events/``: the audit trail, read-only, for the same readers and with the same filters as
``/audit/`` (issue 16, point 1). Listing it is audited."""

from rest_framework import permissions, serializers, viewsets
from rest_framework.routers import SimpleRouter

from registry import audit
from registry.api.pagination import RegistryCursorPagination
from registry.models import AuditAction, AuditEvent
from registry.scoping import oversees

from .audit_trail import AuditFilterSet


class AuditEventSerializer(serializers.ModelSerializer):
    class Meta:
        model = AuditEvent
        fields = ["id", "at", "actor_id", "actor_username", "action", "object_type", "object_id", "station_id",
                  "changes", "reason", "via", "ip_address"]
        read_only_fields = fields


class AuditReader(permissions.BasePermission):
    """Supervisors (their district) and administrators."""

    def has_permission(self, request, view):
        return oversees(request.user, "registry.view_auditevent")


class NewestFirst(RegistryCursorPagination):
    ordering = ("-at", "-id")


class AuditEventViewSet(viewsets.ReadOnlyModelViewSet):
    """Audit events in your scope, newest first; filters as on the audit page."""

    serializer_class = AuditEventSerializer
    filterset_class = AuditFilterSet
    pagination_class = NewestFirst
    permission_classes = [permissions.IsAuthenticated, AuditReader]
    ordering_fields = []

    def get_queryset(self):
        return AuditEvent.objects.visible_to(self.request.user)

    def list(self, request, *args, **kwargs):
        response = super().list(request, *args, **kwargs)
        filters = {name: value for name, value in request.query_params.items()
                   if name in AuditFilterSet.base_filters}
        audit.record(action=AuditAction.VIEW, object_type="registry.auditevent", changes={"filters": filters},
                     via="api")
        return response


router = SimpleRouter()
router.register("audit-events", AuditEventViewSet, basename="audit-event")
urlpatterns = router.urls
