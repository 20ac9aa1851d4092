from django.urls import path, re_path

from . import views_import

app_name = "imports"

urlpatterns = [
    path("", views_import.ImportUploadView.as_view(), name="upload"),
    re_path(r"^template\.(?P<fmt>csv|xlsx)$", views_import.ImportTemplateView.as_view(), name="template"),
    path("<int:pk>/", views_import.ImportJobDetailView.as_view(), name="job_detail"),
    path("<int:pk>/progress/", views_import.ImportJobProgressView.as_view(), name="job_progress"),
    path("<int:pk>/confirm/", views_import.ImportJobConfirmView.as_view(), name="job_confirm"),
    path("<int:pk>/problems.csv", views_import.ImportJobErrorsView.as_view(), name="job_errors"),
]
