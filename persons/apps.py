from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PersonsConfig(AppConfig):
    name = "persons"
    verbose_name = _("Persons")

    def ready(self):
        from registry.roles import RoleChoices, crud, grant, read_only
        from registry.scoping import owner_scopes

        from .selectors import employer_scope

        station_work = crud("persons", "person", "employer", "employment")
        grant({
            RoleChoices.STAFF: [*station_work, "persons.unmask_document"],
            RoleChoices.OFFICER: [*station_work, "persons.unmask_document", "persons.view_access_log"],
            RoleChoices.SUPERVISOR: [*read_only(station_work), "persons.unmask_document", "persons.view_access_log"],
            RoleChoices.EMPLOYER: ["persons.view_employment"],
        })
        owner_scopes.register(RoleChoices.EMPLOYER, employer_scope)
