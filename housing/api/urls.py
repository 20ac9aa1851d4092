from rest_framework.routers import SimpleRouter

from .views import LandlordViewSet, PersonRegisterViewSet, PropertyViewSet, ResidenceViewSet, UnitViewSet

router = SimpleRouter()
router.register("landlords", LandlordViewSet, basename="landlord")
router.register("properties", PropertyViewSet, basename="property")
router.register("units", UnitViewSet, basename="unit")
router.register("residences", ResidenceViewSet, basename="residence")
router.register("persons", PersonRegisterViewSet, basename="person")  # only persons/register/
urlpatterns = router.urls
