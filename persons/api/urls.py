from rest_framework.routers import SimpleRouter

from .views import EmployerViewSet, EmploymentViewSet, PersonViewSet

router = SimpleRouter()
router.register("persons", PersonViewSet, basename="person")
router.register("employers", EmployerViewSet, basename="employer")
router.register("employments", EmploymentViewSet, basename="employment")
urlpatterns = router.urls
