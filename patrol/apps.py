from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class PatrolConfig(AppConfig):
    name = "patrol"
    verbose_name = _("Patrol")

    def ready(self):
        from housing import extensions as housing
        from persons import extensions as person_filters
        from registry.notifications import daily_reminders
        from registry.roles import RoleChoices, grant, read_only
        from registry.views import detail_context

        from . import refresh, reminders, selectors

        station_work = ["patrol.add_visit", "patrol.view_visit", "patrol.view_inspection",
                        "patrol.view_residencepermit", "patrol.view_propertyrating", "patrol.view_verificationrequest"]
        grant({
            RoleChoices.STAFF: [*station_work, "patrol.add_receipt"],
            RoleChoices.OFFICER: [*station_work, "patrol.add_inspection", "patrol.change_inspection",
                                  "patrol.add_residencepermit", "patrol.change_residencepermit", "patrol.add_receipt"],
            RoleChoices.SUPERVISOR: read_only(station_work),
        })
        # Ratings and checks are patrol's; housing and the person page learn them here (registry/extensions.py).
        housing.property_changed.connect(refresh.rating_refresh_on_change, dispatch_uid="patrol_rating_refresh")
        housing.property_stars.provide(selectors.stars_of)
        housing.plaque_facts.provide(selectors.property_public_facts)
        housing.open_verification.provide(selectors.open_verification)
        housing.rated_with.provide(selectors.rated_with)
        person_filters.person_permit.provide(selectors.person_permit)
        detail_context.register("housing.property", selectors.property_patrol_context)
        detail_context.register("persons.person", selectors.person_patrol_context, order=20)
        daily_reminders.register("confirmations_late", reminders.confirmations_late, order=20)
        daily_reminders.register("permits_expiring", reminders.permits_expiring, order=30)
