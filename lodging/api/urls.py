from rest_framework.routers import SimpleRouter

from .views import StayViewSet

router = SimpleRouter()
router.register("stays", StayViewSet, basename="stay")
urlpatterns = router.urls
