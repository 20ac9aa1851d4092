from django.contrib import admin
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User

from .models import AuditEvent, Community, District, Profile, Station


@admin.register(District)
class DistrictAdmin(admin.ModelAdmin):
    list_display = ["code", "name"]
    search_fields = ["code", "name"]


@admin.register(Station)
class StationAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "district"]
    list_filter = ["district"]
    search_fields = ["code", "name"]


@admin.register(Community)
class CommunityAdmin(admin.ModelAdmin):
    list_display = ["code", "name", "station"]
    list_filter = ["station__district", "station"]
    search_fields = ["code", "name"]
    list_select_related = ["station"]


class ProfileInline(admin.StackedInline):
    model = Profile
    can_delete = False
    fk_name = "user"


admin.site.unregister(User)


@admin.register(User)
class RegistryUserAdmin(UserAdmin):
    inlines = [ProfileInline]
    list_display = ["username", "first_name", "last_name", "is_active", "role", "station"]
    list_select_related = ["profile__station"]
    list_filter = ["is_active", "profile__role", "profile__station"]

    @admin.display(description="role")
    def role(self, obj):
        return obj.profile.get_role_display() if hasattr(obj, "profile") else "—"

    @admin.display(description="station")
    def station(self, obj):
        return getattr(getattr(obj, "profile", None), "station", None) or "—"


@admin.register(AuditEvent)
class AuditEventAdmin(admin.ModelAdmin):
    """Read-only: the audit trail is never edited, here or anywhere."""

    list_display = ["at", "actor_username", "action", "object_type", "object_id", "via", "ip_address"]
    list_filter = ["action", "via", "object_type"]
    search_fields = ["actor_username", "object_id"]
    date_hierarchy = "at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
