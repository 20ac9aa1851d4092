from django.urls import include, path

from . import views

app_name = "portal"

urlpatterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("accounts/", include("portal.urls_accounts")),
]
