from django.urls import path

from . import views, views_employer

app_name = "persons"

urlpatterns = [
    path("", views.PersonListView.as_view(), name="person_list"),
    path("<int:pk>/", views.PersonDetailView.as_view(), name="person_detail"),
    path("<int:pk>/unmask/", views.PersonUnmaskView.as_view(), name="person_unmask"),
    path("<int:pk>/correct/", views.PersonCorrectView.as_view(), name="person_correct"),
    path("<int:pk>/replace-document/", views.PersonReplaceDocumentView.as_view(), name="person_replace_document"),
]

urlpatterns += [
    path("employers/", views_employer.EmployerListView.as_view(), name="employer_list"),
    path("employers/new/", views_employer.EmployerCreateView.as_view(), name="employer_create"),
    path("employers/<int:pk>/", views_employer.EmployerDetailView.as_view(), name="employer_detail"),
    path("employers/<int:pk>/edit/", views_employer.EmployerUpdateView.as_view(), name="employer_edit"),
]
