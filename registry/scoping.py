"""One door for access: every queryset of personal data is narrowed by ``visible_to(user)``.

A user's scope comes from their profile: a station (staff, officers), the stations of a district
(supervisors), their own landlord or employer record, or everything (administrators). Outside it a
record does not exist: single objects come through ``get_object_for_user``, which answers 404.
"""

from dataclasses import dataclass

from django.db import models
from django.shortcuts import get_object_or_404

from .roles import STATION_ROLES, RoleChoices


@dataclass(frozen=True)
class Scope:
    is_global: bool = False
    station_ids: frozenset[int] | None = None
    landlord_id: int | None = None
    employer_id: int | None = None
    role: str | None = None

    @property
    def role_label(self) -> str:
        return RoleChoices(self.role).label if self.role else ""

    @property
    def is_empty(self) -> bool:
        return not (self.is_global or self.station_ids or self.landlord_id or self.employer_id)


NO_SCOPE = Scope()


def _compute_scope(user) -> Scope:
    if not getattr(user, "is_authenticated", False) or not user.is_active:
        return NO_SCOPE
    if user.is_superuser:
        return Scope(is_global=True, role=RoleChoices.ADMIN)
    from .models import Station

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
        ids = Station.objects.filter(district_id=profile.district_id).values_list("id", flat=True)
        return Scope(station_ids=frozenset(ids), role=role)
    if role == RoleChoices.LANDLORD:
        from housing.models import Landlord

        landlord_id = Landlord.objects.filter(user=user).values_list("id", flat=True).first()
        return Scope(landlord_id=landlord_id, role=role) if landlord_id else NO_SCOPE
    if role == RoleChoices.EMPLOYER:
        from persons.models import Employer

        employer_id = Employer.objects.filter(user=user).values_list("id", flat=True).first()
        return Scope(employer_id=employer_id, role=role) if employer_id else NO_SCOPE
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
        return self.none() if condition is None else self.filter(condition)


def get_object_for_user(queryset_or_model, user, **lookup):
    """Fetch one object within the user's scope; outside it, 404 exactly as if it did not exist."""
    queryset = queryset_or_model
    if isinstance(queryset_or_model, type):
        queryset = queryset_or_model._default_manager.all()
    return get_object_or_404(queryset.visible_to(user), **lookup)
