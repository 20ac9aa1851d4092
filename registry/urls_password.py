"""Included under ``account/`` (``password:change`` is in the user menu)."""

from django.urls import path

from . import views_password as views

app_name = "password"

urlpatterns = [
    path("password/", views.PasswordChangeView.as_view(), name="change"),
    path("password/reset/done/", views.StationPasswordResetCompleteView.as_view(), name="reset_complete"),
    path("password/reset/<uidb64>/<token>/", views.StationPasswordResetView.as_view(), name="reset_confirm"),
]
