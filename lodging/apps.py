from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class LodgingConfig(AppConfig):
    name = "lodging"
    verbose_name = _("Lodging guest register")

    def ready(self):
        from registry.notifications import daily_reminders
        from registry.retention import retention_rules
        from registry.roles import RoleChoices, grant
        from registry.views import detail_context

        from . import reminders, retention, selectors

        grant({
            RoleChoices.STAFF: ["lodging.view_stay"],
            RoleChoices.OFFICER: ["lodging.view_stay"],
            RoleChoices.SUPERVISOR: ["lodging.view_stay"],
            # The operator of a lodging is its landlord: checks guests in and out of their own lodgings.
            RoleChoices.LANDLORD: ["lodging.add_stay", "lodging.change_stay", "lodging.view_stay"],
        })
        detail_context.register("persons.person", selectors.person_stays, order=30)
        daily_reminders.register("long_stays", reminders.long_stays, order=50)
        retention_rules.register("stays", retention.stays_anonymise, order=40)
