from django.urls import path

from . import views, views_residence

app_name = "residences"

urlpatterns = [
    path("", views.ResidenceListView.as_view(), name="list"),
    path("<int:pk>/end/", views_residence.ResidenceEndView.as_view(), name="end"),
    path("<int:pk>/correct/", views_residence.ResidenceCorrectView.as_view(), name="correct"),
]
