"""Roles: one Django group each, with the permissions the role carries."""

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

_REGISTRY_WRITE = [
    "persons.add_person", "persons.change_person", "persons.view_person",
    "persons.add_employer", "persons.change_employer", "persons.view_employer",
    "persons.add_employment", "persons.change_employment", "persons.view_employment",
    "housing.add_landlord", "housing.change_landlord", "housing.view_landlord",
    "housing.add_property", "housing.change_property", "housing.view_property",
    "housing.add_unit", "housing.change_unit", "housing.view_unit",
    "housing.add_residence", "housing.change_residence", "housing.view_residence",
    "patrol.add_visit", "patrol.view_visit", "patrol.view_inspection",
    "patrol.view_residencepermit", "patrol.view_propertyrating", "patrol.view_verificationrequest",
    "portal.view_submission", "portal.change_submission", "portal.view_ratingappeal",
]
_REGISTRY_READ = [p for p in _REGISTRY_WRITE if ".view_" in p]
_PORTAL = ["housing.view_property", "housing.view_unit", "housing.view_residence",
           "portal.add_submission", "portal.view_submission", "portal.add_ratingappeal", "portal.view_ratingappeal"]

# Codenames are "app_label.codename"; the data migration and the tests both read this map.
ROLE_PERMISSIONS: dict[str, list[str]] = {
    RoleChoices.STAFF: _REGISTRY_WRITE + ["persons.unmask_document"],
    RoleChoices.OFFICER: _REGISTRY_WRITE
    + [
        "persons.unmask_document",
        "persons.view_access_log",
        "patrol.add_inspection", "patrol.change_inspection",
        "patrol.add_residencepermit", "patrol.change_residencepermit",
        "registry.manage_landlord_accounts",
        "portal.change_ratingappeal",
    ],
    RoleChoices.SUPERVISOR: _REGISTRY_READ
    + ["persons.unmask_document", "persons.view_access_log", "registry.view_auditevent"],
    RoleChoices.LANDLORD: _PORTAL,
    RoleChoices.EMPLOYER: _PORTAL + ["persons.view_employment"],
    RoleChoices.ADMIN: [],  # administrators are superusers
}
