from django.conf import settings
from django.contrib import admin
from django.contrib.admin.utils import unquote
from django.contrib.auth.admin import UserAdmin
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import path
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from .models import AuditEvent, Community, District, Profile, Station
from .passwords import check_station_reset, password_set_by_administrator, station_reset_link_create
from .second_factor import devices_reset
from .signin import sessions_end


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

    # --- the second factor and sessions (registry/second_factor.py, registry/signin.py) ---
    actions = ["reset_second_factor", "end_sessions"]

    @admin.action(description=gettext_lazy("Reset the second factor (a lost phone): enrol again at the next sign-in"))
    def reset_second_factor(self, request, queryset):
        for user in queryset:
            devices_reset(user=user, actor=request.user, reason="reset by an administrator")
        self.message_user(request, _("Second factor reset for %(count)d users; their sessions are signed out.")
                          % {"count": len(queryset)})

    @admin.action(description=gettext_lazy("Sign out everywhere"))
    def end_sessions(self, request, queryset):
        ended = sum(sessions_end(user=user, actor=request.user, reason="ended by an administrator")
                    for user in queryset)
        self.message_user(request, _("%(count)d sessions signed out.") % {"count": ended})

    # --- passwords (registry/passwords.py) ---
    change_form_template = "password/admin_user_change_form.html"

    def get_urls(self):
        return [
            path("<id>/password-link/", self.admin_site.admin_view(self.password_link_view),
                 name="auth_user_password_link"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        user = self.get_object(request, unquote(object_id))
        allowed = user is not None and _station_reset_error(user) is None
        return super().change_view(request, object_id, form_url,
                                   {**(extra_context or {}), "password_link_allowed": allowed})

    def password_link_view(self, request, id):
        """A one-time link for a station account to choose a new password, shown once to hand over in person."""
        user = self.get_object(request, unquote(id))
        if user is None:
            raise Http404
        if not self.has_change_permission(request, user):
            raise PermissionDenied
        context = {**self.admin_site.each_context(request), "opts": self.opts, "original": user,
                   "title": _("One-time password link"), "minutes": settings.PASSWORD_RESET_TIMEOUT // 60,
                   "error": _station_reset_error(user)}
        if request.method == "POST" and context["error"] is None:
            context["link"] = station_reset_link_create(user=user, actor=request.user, request=request)
        return TemplateResponse(request, "password/admin_link.html", context)

    def user_change_password(self, request, id, form_url=""):
        """Django's page that sets a password; a password it sets (or disables) is a reset: the user's sessions
        end and their tokens are revoked (the administrator's own session stays, if it is their own)."""
        user = self.get_object(request, unquote(id))
        before = user.password if user is not None else None
        response = super().user_change_password(request, id, form_url)
        if user is not None and request.method == "POST":
            user.refresh_from_db(fields=["password"])
            if user.password != before:
                keep = request.session.session_key if user.pk == request.user.pk else None
                password_set_by_administrator(user=user, actor=request.user, keep=keep)
        return response


def _station_reset_error(user) -> str | None:
    try:
        check_station_reset(user=user)
    except ValidationError as exc:
        return exc.messages[0]
    return None


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
