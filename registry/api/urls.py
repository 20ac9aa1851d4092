from django.urls import path
from rest_framework.routers import SimpleRouter

from .views import ApiTokenViewSet, ChangeFeedView

router = SimpleRouter()
router.register("tokens", ApiTokenViewSet, basename="token")

urlpatterns = [path("changes/", ChangeFeedView.as_view(), name="changes"), *router.urls]
