"""Reports and appeals over HTTP: owners send them, station staff decide them, through ``portal.services``."""

from drf_spectacular.utils import extend_schema
from rest_framework import permissions, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied
from rest_framework.response import Response

from registry.api.mixins import IdempotentCreateMixin, VersionedMixin
from registry.api.viewsets import RegistryModelPermissions, ScopedViewSetMixin

from ..filtersets import SubmissionFilterSet
from ..models import RatingAppeal, Submission
from ..services import (
    appeal_create,
    submission_approve,
    submission_reject,
    submission_report_arrival,
    submission_report_departure,
    submission_withdraw,
)
from .serializers import (
    AppealCreateSerializer,
    ArrivalReportSerializer,
    DecideSerializer,
    DepartureReportSerializer,
    RatingAppealSerializer,
    RejectSerializer,
    SubmissionSerializer,
)


class _ActionsMixin:
    """Custom actions check their own permission (``_require``): a POST here is not an "add"."""

    def get_permissions(self):
        if self.action in ("list", "retrieve"):
            return super().get_permissions()
        return [permissions.IsAuthenticated()]
    def _require(self, perm: str) -> None:
        if not self.request.user.has_perm(perm):
            raise PermissionDenied()

    def _answer(self, instance, serializer_class, code=status.HTTP_200_OK):
        response = Response(serializer_class(instance, context=self.get_serializer_context()).data, status=code)
        response["ETag"] = f'"{instance.pk}-{instance.version}"'
        return response


class SubmissionViewSet(_ActionsMixin, ScopedViewSetMixin, VersionedMixin, IdempotentCreateMixin,
                        viewsets.ReadOnlyModelViewSet):
    """Arrivals and departures reported by landlords and employers, and their review.

    Owners POST ``arrival``/``departure`` and may ``withdraw`` a waiting one; station staff
    ``approve`` or ``reject`` it (with If-Match or ``version``). The list is oldest first.
    """

    queryset = Submission.objects.select_related("residence__person").order_by("created_at", "id")
    serializer_class = SubmissionSerializer
    filterset_class = SubmissionFilterSet
    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    @extend_schema(request=ArrivalReportSerializer, responses={201: SubmissionSerializer})
    @action(detail=False, methods=["post"])
    def arrival(self, request):
        """Report an arrival (landlords and employers): waits for the station's review."""
        self._require("portal.add_submission")

        def handler():
            body = ArrivalReportSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            data = dict(body.validated_data)
            submission = submission_report_arrival(prop=data.pop("property"), actor=request.user, **data)
            return self._answer(submission, SubmissionSerializer, status.HTTP_201_CREATED)

        return self.idempotent(request, handler)

    @extend_schema(request=DepartureReportSerializer, responses={201: SubmissionSerializer})
    @action(detail=False, methods=["post"])
    def departure(self, request):
        """Report a departure of a current tenant (landlords and employers)."""
        self._require("portal.add_submission")

        def handler():
            body = DepartureReportSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            submission = submission_report_departure(prop=body.validated_data["property"], actor=request.user,
                                                     residence=body.validated_data["residence"],
                                                     date=body.validated_data["date"])
            return self._answer(submission, SubmissionSerializer, status.HTTP_201_CREATED)

        return self.idempotent(request, handler)

    @extend_schema(request=DecideSerializer, responses={200: SubmissionSerializer})
    @action(detail=True, methods=["post"])
    def approve(self, request, pk=None):
        """Approve: registers the arrival or ends the registration, with the owner as the source."""
        self._require("portal.change_submission")
        submission = self.get_object()
        expected = self.expected_version(request, submission)
        submission = submission_approve(submission=submission, actor=request.user, expected_version=expected)
        return self._answer(submission, SubmissionSerializer)

    @extend_schema(request=RejectSerializer, responses={200: SubmissionSerializer})
    @action(detail=True, methods=["post"])
    def reject(self, request, pk=None):
        """Reject with a reason the sender will see."""
        self._require("portal.change_submission")
        submission = self.get_object()
        body = RejectSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        expected = self.expected_version(request, submission)
        submission_reject(submission=submission, actor=request.user, expected_version=expected,
                          reason=body.validated_data["rejection_reason"])
        return self._answer(submission, SubmissionSerializer)

    @extend_schema(request=DecideSerializer, responses={200: SubmissionSerializer})
    @action(detail=True, methods=["post"])
    def withdraw(self, request, pk=None):
        """Withdraw a waiting report (its sender's side only)."""
        self._require("portal.add_submission")
        submission = self.get_object()
        expected = self.expected_version(request, submission)
        submission_withdraw(submission=submission, expected_version=expected)
        return self._answer(submission, SubmissionSerializer)


class RatingAppealViewSet(_ActionsMixin, ScopedViewSetMixin, VersionedMixin, IdempotentCreateMixin,
                          viewsets.ReadOnlyModelViewSet):
    """Appeals of one component of a property's rating; owners create them, officers answer in the pages."""

    queryset = RatingAppeal.objects.order_by("created_at", "id")
    serializer_class = RatingAppealSerializer
    permission_classes = [permissions.IsAuthenticated, RegistryModelPermissions]

    @extend_schema(request=AppealCreateSerializer, responses={201: RatingAppealSerializer})
    def create(self, request, *args, **kwargs):
        self._require("portal.add_ratingappeal")

        def handler():
            body = AppealCreateSerializer(data=request.data, context=self.get_serializer_context())
            body.is_valid(raise_exception=True)
            appeal = appeal_create(prop=body.validated_data["property"], component=body.validated_data["component"],
                                   comment=body.validated_data["comment"], actor=request.user)
            return self._answer(appeal, RatingAppealSerializer, status.HTTP_201_CREATED)

        return self.idempotent(request, handler)
