from django.contrib.auth.mixins import LoginRequiredMixin
from django.shortcuts import redirect
from django.views import View

from .roles import RoleChoices
from .scoping import scope_for


class HomeView(LoginRequiredMixin, View):
    """Send each role to where its work starts."""

    def get(self, request):
        scope = scope_for(request.user)
        if scope.role == RoleChoices.ADMIN and request.user.is_staff:
            return redirect("admin:index")
        return redirect("persons:person_list")
