"""Roles: one Django group each, with the permissions the role carries (granted by each app for its models)."""

from django.db import models
from django.utils.translation import gettext_lazy as _


class RoleChoices(models.TextChoices):
    STAFF = "staff", _("Station staff")
    OFFICER = "officer", _("Community officer")
    SUPERVISOR = "supervisor", _("Supervisor")
    LANDLORD = "landlord", _("Landlord")
    EMPLOYER = "employer", _("Employer")
    ADMIN = "admin", _("Administrator")


STATION_ROLES = {RoleChoices.STAFF, RoleChoices.OFFICER}

# role -> permissions ("app_label.codename"). Each app grants the roles what they may do with its own models
# (``grant`` in its AppConfig.ready); ``signals.sync_role_groups`` writes them into each role's group after every
# migrate, and the tests read them. Administrators are superusers: their role needs none.
ROLE_PERMISSIONS: dict[str, list[str]] = {role: [] for role in RoleChoices.values}


def grant(permissions: dict[str, list[str]]) -> None:
    """Give each role these permissions (keyed by role; idempotent)."""
    for role, codenames in permissions.items():
        held = ROLE_PERMISSIONS[role]
        held.extend(codename for codename in codenames if codename not in held)


def crud(app_label: str, *model_names: str) -> list[str]:
    """Add, change and view permissions of these models."""
    return [f"{app_label}.{action}_{name}" for name in model_names for action in ("add", "change", "view")]


def read_only(codenames: list[str]) -> list[str]:
    return [codename for codename in codenames if ".view_" in codename]


grant({
    RoleChoices.OFFICER: ["registry.manage_landlord_accounts"],
    RoleChoices.SUPERVISOR: ["registry.view_auditevent"],
})
