from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class RegistryAdminConfig(admin_apps.AdminConfig):
    default = False
    default_site = "registry.admin_site.VerifiedAdminSite"


class RegistryConfig(AppConfig):
    default = True
    name = "registry"
    verbose_name = _("Registry")

    def ready(self):
        from django.apps import apps
        from django.contrib.auth import get_user_model
        from django.contrib.auth.models import Group
        from django.db.models.signals import m2m_changed, post_migrate, post_save

        from . import audit, checks, db_roles, lockout, retention, signals, signin  # noqa: F401  (receivers, checks, rules)
        from .backends import permissions_changed

        user_model = get_user_model()
        # A new account too: a reused primary key (tests roll back) must not meet its predecessor's set.
        post_save.connect(lambda created=False, **kwargs: created and permissions_changed(), sender=user_model,
                          weak=False, dispatch_uid="registry_perms_new_user")
        for through in (user_model.groups.through, user_model.user_permissions.through, Group.permissions.through):
            m2m_changed.connect(permissions_changed, sender=through, dispatch_uid=f"registry_perms_{through.__name__}")
        from .api import fields, schema  # noqa: F401  (schema: register OpenAPI extensions)

        fields.install()  # JSON bodies: a value of the wrong JSON type is a 400

        # On the last app's signal, so that every app's permissions exist by then. Django sends post_migrate only
        # for apps with a models module, so the last of those.
        last_app = [config for config in apps.get_app_configs() if config.models_module is not None][-1]
        post_migrate.connect(signals.sync_role_groups, sender=last_app, dispatch_uid="registry_sync_role_groups")
        post_migrate.connect(signals.key_canary_after_migrate, sender=self, dispatch_uid="registry_key_canary")
        post_migrate.connect(db_roles.grant_app_role, sender=last_app, dispatch_uid="registry_grant_app_role")
