from django.urls import re_path

from . import views_export

app_name = "exports"

KINDS = r"(?P<kind>persons|properties|landlords|stays)"

urlpatterns = [
    re_path(rf"^{KINDS}/$", views_export.ExportView.as_view(), name="export"),
    re_path(rf"^{KINDS}\.(?P<fmt>csv|xlsx)$", views_export.ExportDownloadView.as_view(), name="download"),
]
