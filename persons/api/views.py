from registry import audit
from registry.api.viewsets import ScopedReadOnlyViewSet

from ..filtersets import PersonFilterSet
from ..models import Person
from .serializers import PersonSerializer


class PersonViewSet(ScopedReadOnlyViewSet):
    queryset = Person.objects.all()
    serializer_class = PersonSerializer
    filterset_class = PersonFilterSet

    def retrieve(self, request, *args, **kwargs):
        response = super().retrieve(request, *args, **kwargs)
        audit.record_view(request.user, self._retrieved, via="api")
        return response

    def get_object(self):
        self._retrieved = super().get_object()
        return self._retrieved
