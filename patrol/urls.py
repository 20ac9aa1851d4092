from django.urls import path

from . import views, views_receipt

app_name = "patrol"

urlpatterns = [
    path("properties/<int:pk>/visit/", views.VisitCreateView.as_view(), name="visit_create"),
    path("properties/<int:pk>/inspection/", views.InspectionCreateView.as_view(), name="inspection_create"),
    path("permits/", views.PermitListView.as_view(), name="permit_list"),
    path("permits/issue/<int:pk>/", views.PermitIssueView.as_view(), name="permit_issue"),
    path("permits/<int:pk>/endorse/", views.PermitEndorseView.as_view(), name="permit_endorse"),
    path("tasks/", views.TaskRunListView.as_view(), name="task_runs"),
    path("residences/<int:pk>/receipt.pdf", views_receipt.ResidenceReceiptView.as_view(), name="receipt_residence"),
    path("permits/<int:pk>/receipt.pdf", views_receipt.PermitReceiptView.as_view(), name="receipt_permit"),
]
