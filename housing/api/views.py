from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.response import Response

from housing.filtersets import LandlordFilterSet, PropertyFilterSet, ResidenceFilterSet, UnitFilterSet
from housing.models import Landlord, Property, Residence, ResidenceSourceChoices, Unit
from housing.selectors import units_with_occupancy
from housing.services import person_register, residence_correct, residence_end, residence_move
from persons.models import Person
from registry.api.mixins import IdempotentCreateMixin, VersionedMixin
from registry.api.viewsets import RegistryModelPermissions, ScopedModelViewSet, ScopedViewSetMixin

from .serializers import (
    LandlordSerializer,
    PropertySerializer,
    RegisterSerializer,
    ResidenceCorrectSerializer,
    ResidenceEndSerializer,
    ResidenceMoveSerializer,
    ResidenceSerializer,
    UnitSerializer,
)


class LandlordViewSet(ScopedModelViewSet):
    queryset = Landlord.objects.all()
    serializer_class = LandlordSerializer
    filterset_class = LandlordFilterSet


class PropertyViewSet(ScopedModelViewSet):
    queryset = Property.objects.all()
    serializer_class = PropertySerializer
    filterset_class = PropertyFilterSet


class UnitViewSet(ScopedModelViewSet):
    queryset = Unit.objects.all()
    serializer_class = UnitSerializer
    filterset_class = UnitFilterSet

    def get_queryset(self):
        return units_with_occupancy(super().get_queryset())

    def _annotated(self, serializer):
        """The written unit as lists show it, with ``occupants`` (a fresh row has none to count yet)."""
        serializer.instance = self._written = units_with_occupancy(Unit.objects.filter(pk=serializer.instance.pk)).get()

    def perform_create(self, serializer):
        super().perform_create(serializer)
        self._annotated(serializer)

    def perform_update(self, serializer):
        super().perform_update(serializer)
        self._annotated(serializer)


class ResidenceViewSet(ScopedViewSetMixin, VersionedMixin, IdempotentCreateMixin, viewsets.ReadOnlyModelViewSet):
    """Registrations. Start one with POST /persons/register/; end, move or correct one here."""

    queryset = Residence.objects.select_related("person")
    serializer_class = ResidenceSerializer
    filterset_class = ResidenceFilterSet
    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    def get_base_queryset(self):
        queryset = super().get_base_queryset()
        if self.action == "list":
            # A page shows each person's name only: their document numbers stay encrypted (50 decryptions).
            queryset = queryset.defer("person__document_number")
        return queryset

    def _answer(self, residence):
        response = Response(ResidenceSerializer(residence, context=self.get_serializer_context()).data)
        response["ETag"] = f'"{residence.pk}-{residence.version}"'
        return response

    @extend_schema(request=ResidenceEndSerializer, responses={200: ResidenceSerializer})
    @action(detail=True, methods=["post"])
    def end(self, request, pk=None):
        """Deregister: the person moved out on ``end_date``. Needs If-Match (or ``version``)."""
        self._require("housing.change_residence")
        residence = self.get_object()
        body = ResidenceEndSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = self.expected_version(request, residence)
        residence_end(residence=residence, end_date=body.validated_data["end_date"],
                      end_reason=body.validated_data["end_reason"],
                      note=body.validated_data["note"], expected_version=expected)
        return self._answer(residence)

    @extend_schema(request=ResidenceMoveSerializer, responses={201: ResidenceSerializer})
    @action(detail=True, methods=["post"])
    def move(self, request, pk=None):
        """The person moved to another unit: ends this registration and starts the new one."""
        self._require("housing.add_residence")
        residence = self.get_object()

        def handler():
            body = ResidenceMoveSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            new = residence_move(person=residence.person, source=ResidenceSourceChoices.API, actor=request.user,
                                 **body.validated_data)
            answer = self._answer(new)
            answer.status_code = 201
            return answer

        return self.idempotent(request, handler)

    @extend_schema(request=ResidenceCorrectSerializer, responses={200: ResidenceSerializer})
    @action(detail=True, methods=["post"])
    def correct(self, request, pk=None):
        """Correct dates or reason, with the reason for the change. Needs If-Match (or ``version``)."""
        self._require("housing.change_residence")
        residence = self.get_object()
        body = ResidenceCorrectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        data = dict(body.validated_data)
        expected = self.expected_version(request, residence)
        data.pop("version", None)
        residence_correct(residence=residence, reason_for_change=data.pop("reason_for_change"),
                          expected_version=expected, **data)
        return self._answer(residence)

    def _require(self, perm):
        from rest_framework.exceptions import PermissionDenied

        if not self.request.user.has_perm(perm):
            raise PermissionDenied()


class PersonRegisterViewSet(ScopedViewSetMixin, IdempotentCreateMixin, viewsets.GenericViewSet):
    """``POST /persons/register/``: registration is housing's, beside the persons it creates (the root URLconf
    routes it ahead of the persons' own routes). Creating a person needs ``persons.add_person``."""

    queryset = Person.objects.select_related("registered_station")
    serializer_class = RegisterSerializer
    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    @extend_schema(request=RegisterSerializer, responses={201: ResidenceSerializer})
    @action(detail=False, methods=["post"])
    def register(self, request):
        """Register a resident in a unit: creates the person if new, or moves them here (one transaction)."""

        def handler():
            body = RegisterSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = dict(body.validated_data)
            place = {k: data.pop(k) for k in ("unit", "start_date", "reason", "employer")}
            with transaction.atomic():
                residence = person_register(identity=data, unit=place["unit"], start_date=place["start_date"],
                                            reason=place["reason"], employer=place["employer"],
                                            source=ResidenceSourceChoices.API, actor=request.user)
            return Response(ResidenceSerializer(residence, context=self.get_serializer_context()).data,
                            status=status.HTTP_201_CREATED)

        return self.idempotent(request, handler)
