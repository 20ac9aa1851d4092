"""Stays over HTTP: the station reads its ledger; an operator's token checks guests in and out (a lodging
platform can keep in step through the change feed, where every stay appears)."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from registry import audit
from registry.api.mixins import IdempotentCreateMixin, VersionedMixin
from registry.api.viewsets import RegistryModelPermissions, ScopedViewSetMixin

from ..filtersets import StayFilterSet
from ..models import Stay
from ..services import stay_check_in, stay_check_out
from .serializers import StayCheckInSerializer, StayCheckOutSerializer, StaySerializer


class StayViewSet(ScopedViewSetMixin, VersionedMixin, IdempotentCreateMixin, viewsets.ReadOnlyModelViewSet):
    """Stays at lodgings in your scope, newest arrival first (``q`` finds a guest by document number or name)."""

    queryset = Stay.objects.all()
    serializer_class = StaySerializer
    filterset_class = StayFilterSet
    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    def retrieve(self, request, *args, **kwargs):
        """One stay; reading it is audited, like reading a person's record."""
        response = super().retrieve(request, *args, **kwargs)
        audit.record_view(request.user, self._object, via="api")
        return response

    def _require(self, perm: str) -> None:
        if not self.request.user.has_perm(perm):
            raise PermissionDenied()

    @extend_schema(request=StayCheckInSerializer, responses={201: StaySerializer})
    def create(self, request, *args, **kwargs):
        """Check a guest in (lodging operators). Honours Idempotency-Key."""
        self._require("lodging.add_stay")

        def handler():
            body = StayCheckInSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = body.validated_data
            # A service's ValidationError answers 400 with its fields (registry/api/exceptions.py).
            stay = stay_check_in(lodging=data["property"], actor=request.user, document_type=data["document_type"],
                                 document_number=data["document_number"], document_country=data["document_country"],
                                 name=data["name"], room=data["room"], nights=data["nights"],
                                 arrived_at=data["arrived_at"])
            self._written = stay
            return Response(StaySerializer(stay, context=self.get_serializer_context()).data,
                            status=status.HTTP_201_CREATED)

        return self.idempotent(request, handler)

    @extend_schema(request=StayCheckOutSerializer, responses={200: StaySerializer})
    @action(detail=True, methods=["post"], url_path="check-out")
    def check_out(self, request, pk=None):
        """The guest left. Needs If-Match (or ``version``); a stay already checked out answers 400."""
        self._require("lodging.change_stay")
        stay = self.get_object()
        body = StayCheckOutSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = self.expected_version(request, stay)
        stay_check_out(stay=stay, at=body.validated_data["checked_out_at"], expected_version=expected)
        self._written = stay
        return Response(StaySerializer(stay, context=self.get_serializer_context()).data)
