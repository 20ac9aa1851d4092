"""The Django admin, open only to a session verified with a second factor (whatever the role's rule)."""

from django.contrib import admin
from django.contrib.auth.views import redirect_to_login
from django.shortcuts import redirect

from .signin import is_verified, second_factor_url


class VerifiedAdminSite(admin.AdminSite):
    def has_permission(self, request):
        return super().has_permission(request) and is_verified(request)

    def login(self, request, extra_context=None):
        # One login page for everyone (with its lock-outs); a signed-in but unverified user gives the code.
        if request.user.is_authenticated:
            return redirect(second_factor_url(request))
        return redirect_to_login(request.get_full_path())
