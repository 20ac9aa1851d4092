from django.urls import path

from . import views

app_name = "lodging"

urlpatterns = [
    path("", views.LedgerView.as_view(), name="ledger"),
]
