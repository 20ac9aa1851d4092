"""Base API viewsets: the same one door for scope as the HTML views."""

from rest_framework import permissions, viewsets
from rest_framework.exceptions import PermissionDenied

from registry.scoping import scope_for

from .mixins import IdempotentCreateMixin, VersionedMixin


class ScopedViewSetMixin:
    """``get_queryset`` narrows to the caller's scope; objects outside it are 404."""

    queryset = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if scope_for(request.user).is_empty:
            raise PermissionDenied()

    def get_base_queryset(self):
        return self.queryset.all()

    def get_queryset(self):
        return self.get_base_queryset().visible_to(self.request.user)


class ScopedReadOnlyViewSet(ScopedViewSetMixin, viewsets.ReadOnlyModelViewSet):
    permission_classes = [permissions.IsAuthenticated]

    def get_permissions(self):
        return [*super().get_permissions(), RegistryModelPermissions()]


class RegistryModelPermissions(permissions.DjangoModelPermissions):
    """Model permissions for writes *and* reads: portal roles lack view rights on staff resources."""

    perms_map = {
        **permissions.DjangoModelPermissions.perms_map,
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
    }

    def _queryset(self, view):
        """Only the model is needed here: not the scoped queryset, which the view builds again for its work
        (the user's scope and its conditions, a millisecond per request)."""
        queryset = getattr(view, "queryset", None)
        return queryset if queryset is not None else super()._queryset(view)


class ScopedModelViewSet(ScopedViewSetMixin, VersionedMixin, IdempotentCreateMixin, viewsets.ModelViewSet):
    """CRUD within scope; updates need the ETag (412 when stale); POSTs honour Idempotency-Key."""

    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]
    http_method_names = ["get", "post", "put", "patch", "head", "options"]

    def create(self, request, *args, **kwargs):
        return self.idempotent(request, lambda: super(ScopedModelViewSet, self).create(request, *args, **kwargs))

    def perform_create(self, serializer):
        self._written = serializer.save()

    def perform_update(self, serializer):
        expected = self.expected_version(self.request, serializer.instance)
        self._written = serializer.save(expected_version=expected)
