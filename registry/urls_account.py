from django.urls import path

from . import views_account as views

app_name = "account"

urlpatterns = [
    path("verify/", views.SecondFactorVerifyView.as_view(), name="otp_verify"),
    path("second-factor/", views.second_factor_manage, name="otp_manage"),
    path("second-factor/setup/", views.SecondFactorSetupView.as_view(), name="otp_setup"),
    path("second-factor/recovery-codes/", views.recovery_codes_renew, name="otp_recovery_codes"),
    path("second-factor/<int:pk>/remove/", views.second_factor_remove, name="otp_remove"),
    path("sessions/", views.sessions_list, name="sessions"),
]
