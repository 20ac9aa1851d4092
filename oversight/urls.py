from django.urls import path

from . import views

app_name = "oversight"
urlpatterns = [
    path("", views.FlagListView.as_view(), name="flags"),
    path("<int:pk>/review/", views.FlagReviewView.as_view(), name="review"),
]
