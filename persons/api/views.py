from drf_spectacular.utils import extend_schema
from rest_framework import permissions
from rest_framework.decorators import action
from rest_framework.response import Response

from registry import audit
from registry.api.viewsets import RegistryModelPermissions, ScopedModelViewSet, ScopedReadOnlyViewSet

from ..filtersets import EmployerFilterSet, EmploymentFilterSet, PersonFilterSet
from ..models import Employer, Employment, Person
from ..selectors import document_condition
from ..services import person_replace_document, person_unmask
from .serializers import (
    EmployerSerializer,
    EmploymentSerializer,
    PersonLookupResultSerializer,
    PersonLookupSerializer,
    PersonSerializer,
    ReplaceDocumentSerializer,
    UnmaskedSerializer,
    UnmaskRequestSerializer,
)


class LookupPermissions(RegistryModelPermissions):
    """A lookup posts its question but only reads: the view permission, as for GET."""

    perms_map = {**RegistryModelPermissions.perms_map, "POST": RegistryModelPermissions.perms_map["GET"]}


class ChangePermissions(RegistryModelPermissions):
    """An action that POSTs a change to an existing record: the change permission, as for PATCH."""

    perms_map = {**RegistryModelPermissions.perms_map, "POST": RegistryModelPermissions.perms_map["PATCH"]}


LOOKUP_LIMIT = 100


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

    @extend_schema(request=PersonLookupSerializer, responses={200: PersonLookupResultSerializer})
    @action(detail=False, methods=["post"], permission_classes=[permissions.IsAuthenticated, LookupPermissions])
    def lookup(self, request):
        """The persons in your scope with this whole document number or phone number, asked in the body so
        that the number stays out of URLs and logs. Use it rather than ``?q=`` for numbers (docs/api.md)."""
        body = PersonLookupSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        if number := body.validated_data.get("document_number"):
            matches = self.get_queryset().filter(document_condition(Person, number))
        else:
            matches = self.get_queryset().filter(phone=body.validated_data["phone"])
        matches = matches.order_by("name_pinyin", "pk")
        rows = list(matches[:LOOKUP_LIMIT])
        count = len(rows) if len(rows) < LOOKUP_LIMIT else matches.count()
        return Response({"count": count, "results": self.get_serializer(rows, many=True).data})

    @extend_schema(request=UnmaskRequestSerializer, responses={200: UnmaskedSerializer})
    @action(detail=True, methods=["post"])
    def unmask(self, request, pk=None):
        """The full document number, with a stated reason; needs the unmask permission; audited."""
        person = self.get_object()
        body = UnmaskRequestSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        number = person_unmask(user=request.user, person=person, reason=body.validated_data["reason"], via="api")
        return Response({"document_number": number})

    @extend_schema(request=ReplaceDocumentSerializer, responses={200: PersonSerializer})
    @action(detail=True, methods=["post"], url_path="replace-document",
            permission_classes=[permissions.IsAuthenticated, ChangePermissions])
    def replace_document(self, request, pk=None):
        """A new identity document for the same person (a new passport, a permit exchanged for an ID card): the
        person and their history are kept; the number is validated as at registration and refused if it is
        the one recorded or another person's. Needs If-Match (or ``version``) like other writes; audited with
        the reason. The same service as the person page's form."""
        person = self.get_object()
        body = ReplaceDocumentSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = self.expected_version(request, person)
        data = body.validated_data
        # A service's ValidationError answers 400 naming the field, or 412 when stale (registry/api/exceptions.py).
        self._written = person_replace_document(
            person=person, document_type=data["document_type"], document_number=data["document_number"],
            document_country=data.get("document_country", ""), reason=data["reason"], expected_version=expected)
        return Response(self.get_serializer(self._written).data)


class EmployerViewSet(ScopedModelViewSet):
    queryset = Employer.objects.select_related("station")
    serializer_class = EmployerSerializer
    filterset_class = EmployerFilterSet
    ordering_fields = ["id", "name", "created_at"]


class EmploymentViewSet(ScopedReadOnlyViewSet):
    queryset = Employment.objects.select_related("person", "employer")
    serializer_class = EmploymentSerializer
    filterset_class = EmploymentFilterSet
