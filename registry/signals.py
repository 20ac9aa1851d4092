"""Keep each user's groups in step with the role on their profile; end a user's sessions and tokens when they
are deactivated or their role or place changes; keep a SQLite database file private."""

import logging
import os

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.db.backends.signals import connection_created
from django.db.models.signals import post_save, pre_save
from django.dispatch import receiver

from .models import Profile
from .roles import ROLE_PERMISSIONS, RoleChoices
from .signin import account_secure

User = get_user_model()
logger = logging.getLogger(__name__)
_private_files: set[str] = set()


@receiver(pre_save, sender=User, dispatch_uid="registry_user_deactivated")
def end_access_of_deactivated(sender, instance, raw=False, **kwargs):
    if raw or instance.pk is None or instance.is_active:
        return
    if User.objects.filter(pk=instance.pk, is_active=True).exists():
        account_secure(user=instance, reason="deactivated")


@receiver(pre_save, sender=Profile, dispatch_uid="registry_profile_moved")
def end_access_of_moved(sender, instance, raw=False, **kwargs):
    """A new role, station or district: what the old one opened must not stay open in a session or a token."""
    if raw or instance.pk is None:
        return
    before = Profile.objects.filter(pk=instance.pk).values("role", "station_id", "district_id").first()
    if before and before != {"role": instance.role, "station_id": instance.station_id,
                             "district_id": instance.district_id}:
        account_secure(user=instance.user, reason="role or place changed")


@receiver(post_save, sender=Profile)
def sync_role_group(sender, instance, raw=False, **kwargs):
    if raw:
        return
    role_groups = Group.objects.filter(name__in=RoleChoices.values)
    instance.user.groups.remove(*role_groups.exclude(name=instance.role))
    group, _ = Group.objects.get_or_create(name=instance.role)
    instance.user.groups.add(group)
    if hasattr(instance.user, "_registry_scope"):
        del instance.user._registry_scope


def sync_role_groups(sender=None, using="default", **kwargs):
    """Create one group per role with the permissions in ``ROLE_PERMISSIONS`` (idempotent)."""
    from django.contrib.auth.models import Permission

    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        wanted = []
        for dotted in codenames:
            app_label, codename = dotted.split(".")
            perm = Permission.objects.using(using).filter(
                content_type__app_label=app_label, codename=codename
            ).first()
            if perm is None:
                raise LookupError(f"role {role}: permission {dotted} does not exist")
            wanted.append(perm)
        group.permissions.set(wanted)


def key_canary_after_migrate(sender=None, using="default", **kwargs):
    """After ``migrate``: the key canary, written under the configured keys if there is none (registry/keys.py)."""
    from .keys import key_canary_ensure

    key_canary_ensure()


@receiver(connection_created, dispatch_uid="registry_sqlite_file_private")
def sqlite_file_private(sender, connection, **kwargs):
    """SQLite creates its database file, and the -wal and -shm files beside it, with the umask's mode (usually
    world-readable), and they hold every resident's record: 0600, once per file and process. (SQLite gives the
    -wal and -shm files it creates later the database file's mode.)"""
    if connection.vendor != "sqlite" or connection.is_in_memory_db():
        return
    path = os.fspath(connection.settings_dict["NAME"])
    if path in _private_files:
        return
    for name in (path, f"{path}-wal", f"{path}-shm"):
        try:
            if os.stat(name).st_mode & 0o077:
                os.chmod(name, 0o600)
        except FileNotFoundError:
            continue
        except OSError as exc:  # e.g. a file another account owns: say so, the application still works
            logger.warning("cannot make %s private (mode 0600): %s", name, exc)
    _private_files.add(path)
