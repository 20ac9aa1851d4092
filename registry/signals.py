"""Keep each user's groups in step with the role on their profile."""

from django.contrib.auth.models import Group
from django.db.models.signals import post_save
from django.dispatch import receiver

from .models import Profile
from .roles import ROLE_PERMISSIONS, RoleChoices


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
