from django.urls import path

from . import views_portal

app_name = "lodging_portal"

urlpatterns = [
    path("<int:pk>/", views_portal.RegisterView.as_view(), name="register"),
    path("<int:pk>/check-in/", views_portal.CheckInView.as_view(), name="check_in"),
    path("<int:pk>/stays/<int:stay_pk>/check-out/", views_portal.CheckOutView.as_view(), name="check_out"),
]
