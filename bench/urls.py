"""The product's URLs plus the baselines under ``/bench/`` (bench settings only)."""

from django.urls import include, path
from rest_framework.routers import SimpleRouter

from workspace.urls import urlpatterns as product_urlpatterns

from . import baseline

router = SimpleRouter()
router.register("persons", baseline.PersonViewSet, basename="bench-person")
router.register("residences", baseline.ResidenceViewSet, basename="bench-residence")
router.register("changes", baseline.ChangeViewSet, basename="bench-change")

urlpatterns = [
    path("bench/admin/", baseline.site.urls),
    path("bench/register/", baseline.register, name="bench-register"),
    path("bench/dashboard/", baseline.dashboard, name="bench-dashboard"),
    path("bench/ping/", baseline.ping, name="bench-ping"),
    path("bench/api/", include(router.urls)),
    *product_urlpatterns,
]
