from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class HousingConfig(AppConfig):
    name = "housing"
    verbose_name = _("Housing")

    def ready(self):
        from persons import extensions as person_filters
        from registry.changes import change_scopes
        from registry.retention import retention_rules
        from registry.roles import RoleChoices, crud, grant, read_only
        from registry.scoping import owner_scopes, scope_conditions
        from registry.views import detail_context, list_annotations

        from . import retention, selectors

        station_work = crud("housing", "landlord", "property", "unit", "residence")
        owners = ["housing.view_property", "housing.view_unit", "housing.view_residence"]
        grant({RoleChoices.STAFF: station_work, RoleChoices.OFFICER: station_work,
               RoleChoices.SUPERVISOR: read_only(station_work), RoleChoices.LANDLORD: owners,
               RoleChoices.EMPLOYER: owners})
        # Where people live is housing's: the kernel and persons learn it here (registry/extensions.py).
        owner_scopes.register(RoleChoices.LANDLORD, selectors.landlord_scope)
        scope_conditions.register("persons.person", selectors.persons_housed_in_scope)
        change_scopes.register("persons.person", selectors.person_change_scope)
        detail_context.register("persons.person", selectors.person_residences, order=10)
        detail_context.register("persons.employer", selectors.employer_dormitories)
        list_annotations.register("persons.employer", selectors.with_dormitory_count)
        person_filters.person_lives.provide(selectors.person_lives)
        person_filters.property_choices.provide(selectors.property_choices)
        retention_rules.register("import_reports", retention.import_reports_delete, order=20)
