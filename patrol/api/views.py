"""Patrol work over HTTP: visits, inspections, residence permits, ratings and verification requests.

Writes call the same ``patrol.services`` as the pages; every record comes through the caller's scope.
"""

import re

from django.core.exceptions import ValidationError as DjangoValidationError
from django.db.models import Prefetch
from django.utils import timezone
from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.response import Response

from housing.models import Residence
from registry.api.exceptions import PreconditionFailed, PreconditionRequired
from registry.api.mixins import IdempotentCreateMixin
from registry.api.pagination import RegistryCursorPagination
from registry.api.viewsets import RegistryModelPermissions, ScopedReadOnlyViewSet, ScopedViewSetMixin

from ..filtersets import (
    InspectionFilterSet,
    PropertyRatingFilterSet,
    ResidencePermitFilterSet,
    VerificationRequestFilterSet,
    VisitFilterSet,
    permit_expiry_window,
)
from ..models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, Visit, VisitOutcome
from ..selectors import with_expiry_state
from ..services import inspection_record, permit_endorse, permit_issue, permits_eligible, visit_record
from .serializers import (
    EligibleResidenceSerializer,
    InspectionCreateSerializer,
    InspectionSerializer,
    PermitEndorseSerializer,
    PermitIssueSerializer,
    PropertyRatingSerializer,
    ResidencePermitSerializer,
    VerificationRequestSerializer,
    VisitCreateSerializer,
    VisitSerializer,
)


class _PatrolViewSet(ScopedViewSetMixin, IdempotentCreateMixin, viewsets.ReadOnlyModelViewSet):
    """Reads need the model's view permission, POSTs its add permission; POSTs honour Idempotency-Key."""

    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    def _require(self, perm: str) -> None:
        if not self.request.user.has_perm(perm):
            raise PermissionDenied()


# ---- visits -----------------------------------------------------------------------------------------

_RESIDENT_FIELD = re.compile(r"(outcome|moved_out_on)_(\d+)")


def _visit_errors(exc: DjangoValidationError, rows: list) -> ValidationError:
    """The service names a resident's errors ``moved_out_on_<residence id>`` (the page's field names); the
    API names them by their place in ``outcomes``: ``outcomes.<index>.moved_out_on``."""
    if not hasattr(exc, "error_dict"):
        return ValidationError({"non_field_errors": exc.messages})
    index = {row["residence"]: position for position, row in enumerate(rows)}
    fields = {}
    for key, errors in exc.error_dict.items():
        match = _RESIDENT_FIELD.fullmatch(key)
        if match and int(match[2]) in index:
            key = f"outcomes.{index[int(match[2])]}.{match[1]}"
        elif key == "__all__":
            key = "non_field_errors"
        fields.setdefault(key, []).extend(message for error in errors for message in error.messages)
    return ValidationError(fields)


class VisitViewSet(_PatrolViewSet):
    """Visits to properties in your scope, each with what it found per residence (residence ids only).

    POST records one: an answer for every current resident of the property, as on the visit page.
    """

    queryset = Visit.objects.prefetch_related(
        Prefetch("outcomes", queryset=VisitOutcome.objects.order_by("residence_id")))
    serializer_class = VisitSerializer
    filterset_class = VisitFilterSet

    @extend_schema(request=VisitCreateSerializer, responses={201: VisitSerializer})
    def create(self, request, *args, **kwargs):
        """Record a visit: confirmed → next check by the stars; moved_out → deregistered on that date;
        not_found → unconfirmed (never deregistered automatically)."""

        def handler():
            body = VisitCreateSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = body.validated_data
            rows = data["outcomes"]
            try:
                visit = visit_record(prop=data["property"], visited_on=data["visited_on"], actor=request.user,
                                     note=data["note"],
                                     outcomes={row["residence"]: (row["outcome"], row["moved_out_on"])
                                               for row in rows})
            except DjangoValidationError as exc:
                raise _visit_errors(exc, rows) from None
            visit = self.get_base_queryset().get(pk=visit.pk)
            return Response(VisitSerializer(visit, context=self.get_serializer_context()).data,
                            status=status.HTTP_201_CREATED)

        return self.idempotent(request, handler)


# ---- inspections ------------------------------------------------------------------------------------


class InspectionViewSet(_PatrolViewSet):
    """Safety inspections of properties in your scope; officers record them."""

    queryset = Inspection.objects.all()
    serializer_class = InspectionSerializer
    filterset_class = InspectionFilterSet

    @extend_schema(request=InspectionCreateSerializer, responses={201: InspectionSerializer})
    def create(self, request, *args, **kwargs):
        """Record an inspection (officers): it passes only if every checklist item passes."""

        def handler():
            body = InspectionCreateSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = body.validated_data
            inspection = inspection_record(prop=data["property"], inspected_on=data["inspected_on"],
                                           inspector=request.user, notes=data["notes"],
                                           items={item: data[item] for item in Inspection.CHECKLIST})
            return Response(InspectionSerializer(inspection, context=self.get_serializer_context()).data,
                            status=status.HTTP_201_CREATED)

        return self.idempotent(request, handler)


# ---- residence permits ------------------------------------------------------------------------------


def permit_etag(permit: ResidencePermit) -> str:
    """A permit changes only by endorsement, which moves its expiry: the expiry is its version."""
    return f'"{permit.pk}-{permit.expires_on.isoformat()}"'


class EligiblePagination(RegistryCursorPagination):
    """Longest-waiting first, as on the page."""

    ordering = ("start_date", "id")

    def get_ordering(self, request, queryset, view):
        return self.ordering


class ResidencePermitViewSet(_PatrolViewSet):
    """Residence permits issued by stations in your scope; holders by id and name only.

    Officers ``issue`` one to an eligible resident (see ``eligible``) and ``endorse`` it yearly.
    """

    queryset = ResidencePermit.objects.select_related("person")
    serializer_class = ResidencePermitSerializer
    filterset_class = ResidencePermitFilterSet
    if_match_help = ('The ETag from the last read (`"<id>-<expires_on>"`), or send `expires_on` (the expiry '
                     'you read) in the body.')

    def get_permissions(self):
        # The actions check their own permission: issuing is "add", endorsing is "change".
        if self.action in ("issue", "endorse"):
            return [permissions.IsAuthenticated()]
        return super().get_permissions()

    def get_base_queryset(self):
        return with_expiry_state(self.queryset.all(), *permit_expiry_window())

    def _answer(self, permit: ResidencePermit, code=status.HTTP_200_OK) -> Response:
        if not hasattr(permit, "expiry_state"):  # just written: read it back as lists show it
            permit = self.get_base_queryset().get(pk=permit.pk)
        response = Response(ResidencePermitSerializer(permit, context=self.get_serializer_context()).data,
                            status=code)
        response["ETag"] = permit_etag(permit)
        return response

    def retrieve(self, request, *args, **kwargs):
        return self._answer(self.get_object())

    @extend_schema(request=PermitIssueSerializer, responses={201: ResidencePermitSerializer})
    @action(detail=False, methods=["post"])
    def issue(self, request):
        """Issue a permit to an eligible resident (officers): valid for a year from the issue date."""
        self._require("patrol.add_residencepermit")

        def handler():
            body = PermitIssueSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = body.validated_data
            permit = permit_issue(residence=data["residence"], number=data["number"], issued_on=data["issued_on"],
                                  actor=request.user)
            return self._answer(permit, status.HTTP_201_CREATED)

        return self.idempotent(request, handler)

    @extend_schema(request=PermitEndorseSerializer, responses={200: ResidencePermitSerializer})
    @action(detail=True, methods=["post"])
    def endorse(self, request, pk=None):
        """Yearly endorsement (officers), from the reminder window before expiry on. Needs If-Match (or
        ``expires_on``): a permit endorsed since you read it answers 412 and is not extended twice."""
        self._require("patrol.change_residencepermit")
        permit = self.get_object()
        body = PermitEndorseSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = self._expected_expiry(request, permit, body.validated_data.get("expires_on"))
        permit = permit_endorse(permit=permit, endorsed_on=timezone.localdate(), expected_expires_on=expected)
        return self._answer(permit)

    def _expected_expiry(self, request, permit, body_expires_on):
        """The expiry the caller read: from If-Match (``*`` = any), else from the body; neither is a 428.

        The service compares it again under a row lock, so two officers can't both endorse."""
        header = request.headers.get("If-Match", "").strip().removeprefix("W/")
        if header == "*":
            return None
        if header:
            if header != permit_etag(permit):
                raise PreconditionFailed()
            return permit.expires_on
        if body_expires_on is None:
            raise PreconditionRequired()
        return body_expires_on

    @extend_schema(responses={200: EligibleResidenceSerializer(many=True)})
    @action(detail=False, methods=["get"], serializer_class=EligibleResidenceSerializer, filter_backends=[],
            pagination_class=EligiblePagination)
    def eligible(self, request):
        """Current residents in your scope eligible for a permit: long enough here, no valid permit yet."""
        queryset = (permits_eligible(Residence.objects.visible_to(request.user))
                    .select_related("person", "unit"))
        page = self.paginate_queryset(queryset)
        return self.get_paginated_response(EligibleResidenceSerializer(page, many=True).data)


# ---- ratings and verification requests -----------------------------------------------------------------


class PropertyRatingViewSet(ScopedReadOnlyViewSet):
    """Compliance ratings of properties in your scope, current and past, with components and evidence."""

    queryset = PropertyRating.objects.all()
    serializer_class = PropertyRatingSerializer
    filterset_class = PropertyRatingFilterSet


class VerificationRequestViewSet(ScopedReadOnlyViewSet):
    """Re-verification due at properties in your scope: one open request per property."""

    queryset = VerificationRequest.objects.all()
    serializer_class = VerificationRequestSerializer
    filterset_class = VerificationRequestFilterSet
