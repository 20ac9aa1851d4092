"""Base API viewsets: the same one door for scope as the HTML views."""

from rest_framework import viewsets
from rest_framework.exceptions import PermissionDenied

from registry.scoping import scope_for


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
    pass
