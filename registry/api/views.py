from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import NotFound, PermissionDenied, ValidationError
from rest_framework.response import Response
from rest_framework.views import APIView

from registry.changes import READER_BATCH, changes_sequence, changes_visible_to
from registry.models import ApiToken
from registry.scoping import scope_for
from registry.services import api_token_create, api_token_revoke
from registry.signin import is_verified

from .authentication import refuse_locked_address
from .schema import ErrorSerializer
from .serializers import (
    ApiTokenCreatedSerializer,
    ApiTokenCreateSerializer,
    ApiTokenSerializer,
    ChangePageSerializer,
    ChangeSerializer,
)

CREATE_HELP = ("A new token; the key is in this answer only. It expires after `expires_in_days` (default 90) or at "
               "`expires_at`, at most 365 days away (settings TOKEN_DAYS_DEFAULT, TOKEN_DAYS_MAX); `read_only` "
               "tokens may only read. Needs a browser session verified with a second factor: a token cannot create "
               "tokens.")
CREATE_403 = ("Not allowed to create a token: the request used a token (session_required), or the session has "
              "not given a second factor (second_factor_required), or a read-only token (read_only_token).")

FEED_PAGE_DEFAULT = 500
FEED_PAGE_MAX = 1000


FEED_AFTER_HELP = gettext_lazy("A whole number, 0 or more: the cursor of the last change you read.")
FEED_LIMIT_HELP = gettext_lazy("A whole number from 1 to 1000: how many changes to list.")


def _whole_number(request, name: str, help_text, *, default: int, low: int, high: int | None = None) -> int:
    """A query parameter that must be a whole number in range, or a 400 naming it."""
    raw = request.query_params.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = None
    if value is None or str(value) != raw.strip() or value < low or (high is not None and value > high):
        raise ValidationError({name: [help_text]})
    return value


class ChangeFeedView(APIView):
    """Every create, update and delete of registry records you may see, in commit order."""

    @extend_schema(
        parameters=[
            OpenApiParameter("after", {"type": "integer", "minimum": 0},
                             description="Cursor: return changes after this one (0 = from the beginning)."),
            OpenApiParameter("limit", {"type": "integer", "minimum": 1, "maximum": FEED_PAGE_MAX},
                             description=f"1 to {FEED_PAGE_MAX}; default {FEED_PAGE_DEFAULT}."),
        ],
        responses={200: ChangePageSerializer},
    )
    def get(self, request):
        if scope_for(request.user).is_empty:
            raise PermissionDenied(_("No scope."))
        after = _whole_number(request, "after", FEED_AFTER_HELP, default=0, low=0)
        limit = _whole_number(request, "limit", FEED_LIMIT_HELP, default=FEED_PAGE_DEFAULT, low=1, high=FEED_PAGE_MAX)
        changes_sequence(limit=READER_BATCH)
        rows = list(changes_visible_to(request.user).filter(seq__gt=after)[: limit + 1])
        page, has_more = rows[:limit], len(rows) > limit
        return Response({"results": ChangeSerializer(page, many=True).data,
                         "next_cursor": page[-1].seq if page else after, "has_more": has_more})


class ApiTokenViewSet(mixins.ListModelMixin, mixins.CreateModelMixin, viewsets.GenericViewSet):
    """Your own API tokens: create (the key is shown once), list with expiry, scope and last use, revoke."""

    serializer_class = ApiTokenSerializer
    pagination_class = None

    queryset = ApiToken.objects.none()

    def get_queryset(self):
        if getattr(self, "swagger_fake_view", False):
            return ApiToken.objects.none()
        return ApiToken.objects.filter(user=self.request.user)

    def get_serializer_class(self):
        return ApiTokenCreateSerializer if self.action == "create" else ApiTokenSerializer

    @extend_schema(
        description=CREATE_HELP,
        request=ApiTokenCreateSerializer,
        responses={201: ApiTokenCreatedSerializer, 403: OpenApiResponse(ErrorSerializer, description=CREATE_403)})
    def create(self, request, *args, **kwargs):
        refuse_locked_address(request)
        if isinstance(request.auth, ApiToken):
            raise PermissionDenied(_("A token cannot create tokens: create one in the browser, signed in with your "
                                     "second factor."), code="session_required")
        if not is_verified(request):
            raise PermissionDenied(_("Creating a token needs a session verified with a second factor: give yours "
                                     "in the browser first, or set one up."), code="second_factor_required")
        serializer = ApiTokenCreateSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        token, raw = api_token_create(user=request.user, **serializer.validated_data)
        data = ApiTokenCreatedSerializer(token).data | {"key": raw}
        return Response(data, status=status.HTTP_201_CREATED)

    @extend_schema(request=None, responses={200: ApiTokenSerializer})
    @action(detail=True, methods=["post"])
    def revoke(self, request, pk=None):
        token = self.get_object()
        api_token_revoke(token=token)
        return Response(ApiTokenSerializer(token).data)


class ApiNotFoundView(APIView):
    """Any /api/ path no route matches: a 404 in the API's error format, not Django's HTML page."""

    permission_classes = []
    authentication_classes = []
    schema = None

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        raise NotFound()
