from rest_framework.routers import SimpleRouter

from .views import (
    InspectionViewSet,
    PropertyRatingViewSet,
    ResidencePermitViewSet,
    VerificationRequestViewSet,
    VisitViewSet,
)

router = SimpleRouter()
router.register("visits", VisitViewSet, basename="visit")
router.register("inspections", InspectionViewSet, basename="inspection")
router.register("permits", ResidencePermitViewSet, basename="permit")
router.register("ratings", PropertyRatingViewSet, basename="rating")
router.register("verification-requests", VerificationRequestViewSet, basename="verification-request")
urlpatterns = router.urls
