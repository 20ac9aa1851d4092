from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

import housing.urls_register
import persons.urls
from housing.views_plaque import plaque_public
from patrol.views_receipt import receipt_public
from registry.api.views import ApiNotFoundView
from registry.views_account import LoginView

from . import views_access_report, views_audit, views_dashboard, views_home, views_route, views_search

urlpatterns = [
    path("", views_home.HomeView.as_view(), name="home"),
    path("search/", views_search.SearchView.as_view(), name="search"),
    path("dashboard/", views_dashboard.DashboardView.as_view(), name="dashboard"),
    path("route/", views_route.RouteView.as_view(), name="route"),
    path("audit/", views_audit.AuditListView.as_view(), name="audit"),
    path("audit/flags/", include("oversight.urls")),
    path("audit/users/<int:pk>/", views_audit.UserActivityView.as_view(), name="audit_user"),
    path("persons/<int:pk>/access-report.pdf", views_access_report.PersonAccessReportView.as_view(),
         name="person_access_report"),
    re_path(r"^audit/events\.(?P<fmt>csv|xlsx)$", views_audit.AuditExportView.as_view(), name="audit_export"),
    path("q/<str:token>/", plaque_public, name="plaque_public"),
    path("r/<str:token>/", receipt_public, name="receipt_public"),
    path("accounts/login/", LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    # Registering a resident is housing's page, named and placed beside the person pages.
    path("persons/", include(([*housing.urls_register.urlpatterns, *persons.urls.urlpatterns], "persons"))),
    path("housing/", include("housing.urls")),
    path("residences/", include("housing.urls_residence")),
    path("imports/", include("housing.urls_import")),
    path("exports/", include("workspace.urls_export")),
    path("patrol/", include("patrol.urls")),
    path("portal/lodgings/", include("lodging.urls_portal")),
    path("portal/", include("portal.urls")),
    path("lodging/", include("lodging.urls")),
    path("review/", include("portal.urls_review")),
    path("notifications/", include("registry.urls_notifications")),
    path("account/tokens/", include("registry.urls_tokens")),
    path("account/", include("registry.urls_account")),
    path("account/", include("registry.urls_password")),
    path("api/v1/", include(("registry.api.urls", "registry-api"), namespace="registry-api")),
    # Housing's first: its POST persons/register/ would otherwise meet the persons' detail route (persons/<pk>/).
    path("api/v1/", include(("housing.api.urls", "housing-api"), namespace="housing-api")),
    path("api/v1/", include(("persons.api.urls", "persons-api"), namespace="persons-api")),
    path("api/v1/", include(("portal.api.urls", "portal-api"), namespace="portal-api")),
    path("api/v1/", include(("patrol.api.urls", "patrol-api"), namespace="patrol-api")),
    path("api/v1/", include(("lodging.api.urls", "lodging-api"), namespace="lodging-api")),
    path("api/v1/", include(("workspace.api", "workspace-api"), namespace="workspace-api")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI with its start-up script served from the same URL (?script), not inline: the one CSP fits.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    re_path(r"^api/", ApiNotFoundView.as_view()),
    path("admin/", admin.site.urls),
]
