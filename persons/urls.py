from django.urls import path

from . import views

app_name = "persons"

urlpatterns = [
    path("", views.PersonListView.as_view(), name="person_list"),
    path("<int:pk>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("<int:pk>/unmask/", views.PersonUnmaskView.as_view(), name="person_unmask"),
]
