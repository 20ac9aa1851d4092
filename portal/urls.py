from django.urls import include, path

from . import views
from .views_roster import PortalRosterView

app_name = "portal"

urlpatterns = [
    path("", views.PortalHomeView.as_view(), name="home"),
    path("properties/<int:pk>/", views.PortalPropertyDetailView.as_view(), name="property_detail"),
    path("properties/<int:pk>/arrival/", views.ArrivalCreateView.as_view(), name="arrival_create"),
    path("properties/<int:pk>/departure/", views.DepartureCreateView.as_view(), name="departure_create"),
    path("properties/<int:pk>/confirm/", views.OccupantsConfirmView.as_view(), name="occupants_confirm"),
    path("properties/<int:pk>/appeal/", views.AppealCreateView.as_view(), name="appeal_create"),
    path("properties/<int:pk>/roster/", PortalRosterView.as_view(), name="roster"),
    path("reports/", views.SubmissionListView.as_view(), name="submission_list"),
    path("reports/<int:pk>/withdraw/", views.SubmissionWithdrawView.as_view(), name="submission_withdraw"),
    path("employees/", views.EmployeeListView.as_view(), name="employee_list"),
    path("accounts/", include("portal.urls_accounts")),
]
