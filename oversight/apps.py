from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class OversightConfig(AppConfig):
    name = "oversight"
    verbose_name = _("Oversight of access")

    def ready(self):
        from registry.notifications import daily_reminders
        from registry.roles import RoleChoices, grant

        from . import reminders

        grant({RoleChoices.SUPERVISOR: ["oversight.view_accessflag", "oversight.change_accessflag"]})
        daily_reminders.register("access_flags_waiting", reminders.access_flags_waiting, order=50)
