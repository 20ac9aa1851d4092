from django.urls import path

from . import views_review
from .views_roster import StaffRosterView

app_name = "review"

urlpatterns = [
    path("", views_review.SubmissionQueueView.as_view(), name="queue"),
    path("approve/", views_review.SubmissionBulkApproveView.as_view(), name="bulk_approve"),
    path("reject/", views_review.SubmissionBulkRejectView.as_view(), name="bulk_reject"),
    path("appeals/", views_review.AppealListView.as_view(), name="appeal_list"),
    path("appeals/<int:pk>/answer/", views_review.AppealAnswerView.as_view(), name="appeal_answer"),
    path("roster/<int:pk>/", StaffRosterView.as_view(), name="roster"),
    path("<int:pk>/<str:decision>/", views_review.SubmissionDecideView.as_view(), name="decide"),
]
