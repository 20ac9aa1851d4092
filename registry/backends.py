"""Django's ModelBackend, with each user's permission set cached between requests.

Every page and API call asks for permissions; the stock backend reads them with two queries per request
(the user's own and their groups'), 12% of the search page's time in a profile. Roles change rarely and
through the admin or a profile: any change to a user's groups, a user's own permissions or a group's
permissions bumps a version in the shared cache, so the next request reads them afresh. A cached
entry carries the version it was read under; the version and the entry come in one round trip.
"""

import secrets

from django.contrib.auth.backends import ModelBackend, UserModel
from django.core.cache import cache
from django.db import transaction

TIMEOUT = 300
_VERSION_KEY = "auth-perms-version"


def _fresh_version() -> int:
    # Never a version used before, even if the cache evicted the key: older entries stay unreachable.
    # Random rather than the clock, which tests freeze.
    return secrets.randbits(48)


def _version() -> int:
    version = cache.get(_VERSION_KEY)
    if version is None:
        cache.add(_VERSION_KEY, _fresh_version(), None)
        version = cache.get(_VERSION_KEY)
    return version


def _bump() -> None:
    cache.set(_VERSION_KEY, _fresh_version(), None)


def permissions_changed(**kwargs) -> None:
    """Forget every cached permission set (receiver of m2m_changed on groups and permissions).

    Now, and again once the change is committed: a request that read the old rows in between must
    not leave them cached under the new version.
    """
    _bump()
    transaction.on_commit(_bump)


class CachedPermissionsBackend(ModelBackend):
    """Both of a user's permission sets under one key, read with the version in one cache round trip.

    The session's user comes with their profile (registry.scoping reads the role and station from it on
    every request): one query instead of two.
    """

    def get_user(self, user_id):
        user = UserModel._default_manager.select_related("profile").filter(pk=user_id).first()
        return user if user is not None and self.user_can_authenticate(user) else None

    def _cached_sets(self, user_obj) -> dict:
        if not hasattr(user_obj, "_registry_perm_sets"):
            joined = user_obj.date_joined.timestamp() if user_obj.date_joined else 0
            key = f"auth-perms:{user_obj.pk}:{joined}:{int(user_obj.is_superuser)}"
            found = cache.get_many([_VERSION_KEY, key])
            version, entry = found.get(_VERSION_KEY), found.get(key)
            if version is None:
                version = _version()
            if entry is None or entry[0] != version:
                entry = (version, {"user": super().get_user_permissions(user_obj),
                                   "group": super().get_group_permissions(user_obj)})
                cache.set(key, entry, TIMEOUT)
            user_obj._registry_perm_sets = entry[1]
        return user_obj._registry_perm_sets

    def get_user_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._cached_sets(user_obj)["user"]

    def get_group_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._cached_sets(user_obj)["group"]

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = {*self.get_user_permissions(user_obj), *self.get_group_permissions(user_obj)}
        return user_obj._perm_cache
