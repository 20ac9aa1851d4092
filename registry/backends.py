"""Django's ModelBackend, with each user's permission set cached between requests.

Every page and API call asks for permissions; the stock backend reads them with two queries per request
(the user's own and their groups'), 12% of the search page's time in a profile. Roles change rarely and
through the admin or a profile: any change to a user's groups, a user's own permissions or a group's
permissions bumps a version in the shared cache, so the next request reads them afresh.
"""

import secrets

from django.contrib.auth.backends import ModelBackend
from django.core.cache import cache

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


def permissions_changed(**kwargs) -> None:
    """Forget every cached permission set (receiver of m2m_changed on groups and permissions)."""
    cache.set(_VERSION_KEY, _fresh_version(), None)


class CachedPermissionsBackend(ModelBackend):
    def _cached(self, user_obj, kind: str, compute):
        attribute = f"_registry_{kind}_perm_cache"
        if not hasattr(user_obj, attribute):
            joined = user_obj.date_joined.timestamp() if user_obj.date_joined else 0
            key = f"auth-perms:{_version()}:{user_obj.pk}:{joined}:{int(user_obj.is_superuser)}:{kind}"
            perms = cache.get(key)
            if perms is None:
                perms = compute(user_obj)
                cache.set(key, perms, TIMEOUT)
            setattr(user_obj, attribute, perms)
        return getattr(user_obj, attribute)

    def get_user_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._cached(user_obj, "user", super().get_user_permissions)

    def get_group_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        return self._cached(user_obj, "group", super().get_group_permissions)

    def get_all_permissions(self, user_obj, obj=None):
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        if not hasattr(user_obj, "_perm_cache"):
            user_obj._perm_cache = {*self.get_user_permissions(user_obj), *self.get_group_permissions(user_obj)}
        return user_obj._perm_cache
