from rest_framework.routers import SimpleRouter

from .views import RatingAppealViewSet, SubmissionViewSet

router = SimpleRouter()
router.register("submissions", SubmissionViewSet, basename="submission")
router.register("appeals", RatingAppealViewSet, basename="appeal")
urlpatterns = router.urls
