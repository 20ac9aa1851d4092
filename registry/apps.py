from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class RegistryConfig(AppConfig):
    name = "registry"
    verbose_name = _("Registry")

    def ready(self):
        from django.apps import apps
        from django.db.models.signals import post_migrate

        from . import audit, signals  # noqa: F401  (connect receivers)
        from .api import schema  # noqa: F401  (register OpenAPI extensions)

        # On the last app's signal, so that every app's permissions exist by then.
        last_app = list(apps.get_app_configs())[-1]
        post_migrate.connect(signals.sync_role_groups, sender=last_app, dispatch_uid="registry_sync_role_groups")
