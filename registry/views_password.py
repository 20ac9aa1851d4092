"""Passwords: the signed-in user's change page, and the page a station account's one-time link opens (the
administrator makes the link in the admin). The rules are in ``registry.passwords``."""

from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth import views as auth_views
from django.contrib.auth.signals import user_login_failed
from django.db import transaction
from django.urls import reverse_lazy
from django.utils.translation import gettext as _

from .forms_password import NewPasswordForm, OwnPasswordChangeForm
from .lockout import locked_response, signin_refused
from .passwords import password_changed_by_user, password_reset_used, station_reset_tokens
from .signin import is_station_side


class PasswordChangeView(auth_views.PasswordChangeView):
    """Every signed-in user, station or portal: the current password, then the new one twice. A wrong current
    password counts as a failed sign-in (the lock-outs apply), so the page cannot be used to guess it. After
    the change this browser stays signed in; every other session ends and the API tokens are revoked."""

    form_class = OwnPasswordChangeForm
    template_name = "password/change.html"
    success_url = reverse_lazy("home")

    def post(self, request, *args, **kwargs):
        if signin_refused(request, request.user.get_username()):
            return self.refused()
        return super().post(request, *args, **kwargs)

    def refused(self):
        username = self.request.user.get_username()
        logout(self.request)
        return locked_response(self.request, username)

    def form_invalid(self, form):
        if form.current_password_wrong:
            user_login_failed.send(sender=__name__, credentials={"username": self.request.user.get_username()},
                                   request=self.request)
            if signin_refused(self.request, self.request.user.get_username()):
                return self.refused()
        return super().form_invalid(form)

    @transaction.atomic
    def form_valid(self, form):
        response = super().form_valid(form)  # saves, and keeps this session signed in (a new key)
        password_changed_by_user(user=form.user, keep=self.request.session.session_key)
        messages.success(self.request, _("Your password is changed. You stay signed in here; your other sessions "
                                         "are signed out and your API tokens are revoked."))
        return response


class StationPasswordResetView(auth_views.PasswordResetConfirmView):
    """The administrator's one-time link: a station account sets a new password (the station rules apply).
    It works once, for ``PASSWORD_RESET_TIMEOUT``; then every session of the account ends and its tokens are
    revoked, and the user signs in with the new password and their second factor."""

    form_class = NewPasswordForm
    token_generator = station_reset_tokens
    template_name = "password/reset_confirm.html"
    success_url = reverse_lazy("password:reset_complete")

    def get_user(self, uidb64):
        user = super().get_user(uidb64)
        return user if user is not None and user.is_active and is_station_side(user) else None

    @transaction.atomic
    def form_valid(self, form):
        response = super().form_valid(form)
        password_reset_used(user=form.user, via="administrator link")
        return response


class StationPasswordResetCompleteView(auth_views.PasswordResetCompleteView):
    template_name = "password/reset_complete.html"
