from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PortalConfig(AppConfig):
    name = "portal"
    verbose_name = _("Landlord and employer portal")

    def ready(self):
        from registry.notifications import daily_reminders
        from registry.retention import retention_rules
        from registry.roles import RoleChoices, grant, read_only

        from . import reminders, retention

        reviewing = ["portal.view_submission", "portal.change_submission", "portal.view_ratingappeal"]
        reporting = ["portal.add_submission", "portal.view_submission", "portal.add_ratingappeal",
                     "portal.view_ratingappeal"]
        grant({
            RoleChoices.STAFF: reviewing,
            RoleChoices.OFFICER: [*reviewing, "portal.change_ratingappeal"],
            RoleChoices.SUPERVISOR: read_only(reviewing),
            RoleChoices.LANDLORD: reporting,
            RoleChoices.EMPLOYER: reporting,
        })

        # Beside patrol's (the task's result lists the kinds in this order).
        daily_reminders.register("submissions_waiting", reminders.submissions_waiting, order=10)
        daily_reminders.register("appeals_waiting", reminders.appeals_waiting, order=40)
        retention_rules.register("submissions", retention.submissions_anonymise, order=30)
