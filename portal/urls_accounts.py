from django.urls import path

from . import views_accounts as views

urlpatterns = [
    # Officers: invite or remove landlord and employer accounts.
    path("landlords/<int:pk>/invite/", views.PortalInviteView.as_view(owner_kind="landlord"),
         name="landlord_invite"),
    path("landlords/<int:pk>/deactivate/", views.PortalDeactivateView.as_view(owner_kind="landlord"),
         name="landlord_deactivate"),
    path("employers/<int:pk>/invite/", views.PortalInviteView.as_view(owner_kind="employer"),
         name="employer_invite"),
    path("employers/<int:pk>/deactivate/", views.PortalDeactivateView.as_view(owner_kind="employer"),
         name="employer_deactivate"),
    # The invitee: set a password through the one-time link.
    path("invite/<uidb64>/<token>/", views.PortalInviteAcceptView.as_view(), name="invite_accept"),
    # Anyone: reset a forgotten password by email.
    path("password-reset/", views.PortalPasswordResetView.as_view(), name="password_reset"),
    path("password-reset/sent/", views.PortalPasswordResetDoneView.as_view(), name="password_reset_done"),
    path("reset/<uidb64>/<token>/", views.PortalPasswordResetConfirmView.as_view(), name="password_reset_confirm"),
    path("reset/done/", views.PortalPasswordResetCompleteView.as_view(), name="password_reset_complete"),
]
