from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PersonsConfig(AppConfig):
    name = "persons"
    verbose_name = _("Persons")

    def ready(self):
        from registry.roles import RoleChoices
        from registry.scoping import owner_scopes

        from .selectors import employer_scope

        owner_scopes.register(RoleChoices.EMPLOYER, employer_scope)
