"""One door for access: every queryset of personal data is narrowed by ``visible_to(user)``.

A user's scope comes from their profile: a station (staff, officers), the stations of a district
(supervisors), their own landlord or employer record, or everything (administrators). Outside it a
record does not exist: single objects come through ``get_object_for_user``, which answers 404.
"""

from dataclasses import dataclass

from django.db import models
from django.shortcuts import get_object_or_404

from .extensions import ExtensionPoint
from .roles import STATION_ROLES, RoleChoices

# role -> ``function(user) -> Scope``: the scope of an owner's account (a landlord, an employer), which only the
# app that holds the owners' records can find; registered by that app.
owner_scopes = ExtensionPoint("owner scopes")

# model label -> ``function(scope) -> Q | None``: more of a model's rows that a scope may see, known only to an
# app above the model's (a person's residences make them visible where they live). OR-ed with the model's own
# ``scope_filter``.
scope_conditions = ExtensionPoint("scope conditions")


@dataclass(frozen=True)
class Scope:
    is_global: bool = False
    station_ids: frozenset[int] | None = None
    landlord_id: int | None = None
    employer_id: int | None = None
    role: str | None = None
    # An owner account's own record, by model label ("housing.landlord"): its feed lists it.
    owner_record: str = ""

    @property
    def role_label(self) -> str:
        return RoleChoices(self.role).label if self.role else ""

    @property
    def single_station_id(self) -> int | None:
        """The station of a user who works for exactly one (staff, officers): where what they create belongs."""
        return next(iter(self.station_ids)) if self.station_ids and len(self.station_ids) == 1 else None

    @property
    def is_empty(self) -> bool:
        return not (self.is_global or self.station_ids or self.landlord_id or self.employer_id)


NO_SCOPE = Scope()


def _compute_scope(user) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    if user.is_superuser:
        return Scope(is_global=True, role=RoleChoices.ADMIN)
    # Loaded with the user where the user is loaded (the session's and the API token's backends), else one query.
    profile = getattr(user, "profile", None)
    if profile is None:
        return NO_SCOPE
    role = profile.role
    if role == RoleChoices.ADMIN:
        return Scope(is_global=True, role=role)
    if role in STATION_ROLES and profile.station_id:
        return Scope(station_ids=frozenset([profile.station_id]), role=role)
    if role == RoleChoices.SUPERVISOR and profile.district_id:
        return Scope(station_ids=frozenset(profile.district_station_ids()), role=role)
    resolver = owner_scopes.first(role)
    if resolver is not None:
        return resolver(user) or NO_SCOPE
    return NO_SCOPE


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request)."""
    cached = getattr(user, "_registry_scope", None)
    if cached is None:
        cached = _compute_scope(user)
        if user is not None and getattr(user, "is_authenticated", False):
            user._registry_scope = cached
    return cached


class ScopedQuerySet(models.QuerySet):
    """A queryset that knows how to narrow itself to what a user may see."""

    def scope_filter(self, scope: Scope) -> models.Q | None:
        """The condition for a non-global scope, or None when the scope sees nothing."""
        raise NotImplementedError

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.is_empty:
            return self.none()
        condition = self.scope_filter(scope)
        for extra in scope_conditions(self.model._meta.label_lower):
            more = extra(scope)
            if more is not None:
                condition = more if condition is None else condition | more
        return self.none() if condition is None else self.filter(condition)


class StationScopedQuerySet(ScopedQuerySet):
    """Rows that belong to a station through ``station_field``: the stations of the user's scope."""

    station_field = "station_id"

    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return models.Q(**{f"{self.station_field}__in": scope.station_ids})
        return None


def scoped_choices(queryset_or_model, user):
    """What a user may pick in a form field, a filter or a serializer field: the rows in their scope (none
    without a user, as when a FilterSet is built for the OpenAPI schema). A queryset is copied first, so one
    defined once (at import) never keeps the rows read for another user."""
    if isinstance(queryset_or_model, type):
        queryset = queryset_or_model._default_manager.all()
    else:
        queryset = queryset_or_model.all()
    return queryset.visible_to(user) if user is not None else queryset.none()


def get_object_for_user(queryset_or_model, user, **lookup):
    """Fetch one object within the user's scope; outside it, 404 exactly as if it did not exist."""
    queryset = queryset_or_model
    if isinstance(queryset_or_model, type):
        queryset = queryset_or_model._default_manager.all()
    return get_object_or_404(queryset.visible_to(user), **lookup)


def oversees(user, permission: str) -> bool:
    """Whether ``user`` reads what the oversight pages show: administrators, and users with stations in scope
    (a supervisor's district) who hold ``permission``."""
    scope = scope_for(user)
    return scope.is_global or bool(scope.station_ids and user.has_perm(permission))
