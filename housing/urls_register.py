"""The guided registration: ``/persons/register/``, named ``persons:register`` beside the person pages (the root
URLconf adds it to that namespace). Registration is housing's: it starts a residence, creating the person if new."""

from django.urls import path

from . import views_register

urlpatterns = [
    path("register/", views_register.RegisterView.as_view(), name="register"),
]
