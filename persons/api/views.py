import django_filters
from django.db import transaction
from drf_spectacular.utils import extend_schema
from rest_framework import status
from rest_framework.decorators import action
from rest_framework.response import Response

from housing.api.serializers import ResidenceSerializer
from housing.models import ResidenceSourceChoices
from housing.services import person_register
from registry import audit
from registry.api.viewsets import ScopedModelViewSet, ScopedReadOnlyViewSet
from registry.filtersets import RegistryFilterSet

from ..filtersets import EmployerFilterSet, PersonFilterSet
from ..models import Employer, Employment, Person
from ..services import person_unmask
from .serializers import (
    EmployerSerializer,
    EmploymentSerializer,
    PersonSerializer,
    RegisterSerializer,
    UnmaskedSerializer,
    UnmaskRequestSerializer,
)


class PersonViewSet(ScopedModelViewSet):
    """Persons in your scope. Reading one is audited; document numbers are masked unless unmasked."""

    queryset = Person.objects.select_related("registered_station")
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet
    ordering_fields = ["id", "name_pinyin"]

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        audit.record_view(request.user, self._object, via="api")
        return response

    @extend_schema(request=UnmaskRequestSerializer, responses={200: UnmaskedSerializer})
    @action(detail=True, methods=["post"])
    def unmask(self, request, pk=None):
        """The full document number, with a stated reason; needs the unmask permission; audited."""
        person = self.get_object()
        body = UnmaskRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        number = person_unmask(user=request.user, person=person, reason=body.validated_data["reason"], via="api")
        return Response({"document_number": number})

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


class EmployerViewSet(ScopedModelViewSet):
    queryset = Employer.objects.select_related("station")
    serializer_class = EmployerSerializer
    filterset_class = EmployerFilterSet
    ordering_fields = ["id", "name", "created_at"]


class EmploymentFilterSet(RegistryFilterSet):
    """Employments by person and employer, with choices only within the caller's scope."""

    person = django_filters.ModelChoiceFilter(
        queryset=lambda request: Person.objects.visible_to(request.user) if request else Person.objects.none())
    employer = django_filters.ModelChoiceFilter(
        queryset=lambda request: Employer.objects.visible_to(request.user) if request else Employer.objects.none())

    class Meta:
        model = Employment
        fields = ["person", "employer"]


class EmploymentViewSet(ScopedReadOnlyViewSet):
    queryset = Employment.objects.select_related("person", "employer")
    serializer_class = EmploymentSerializer
    filterset_class = EmploymentFilterSet
