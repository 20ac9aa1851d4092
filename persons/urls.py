from django.urls import path

from . import views, views_register

app_name = "persons"

urlpatterns = [
    path("", views.PersonListView.as_view(), name="person_list"),
    path("register/", views_register.RegisterView.as_view(), name="register"),
    path("<int:pk>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("<int:pk>/unmask/", views.PersonUnmaskView.as_view(), name="person_unmask"),
]
