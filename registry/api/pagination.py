from django.core.exceptions import FieldDoesNotExist
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils.translation import gettext_lazy as _
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination


class RegistryCursorPagination(CursorPagination):
    """Stable pages under concurrent writes; ``?page_size=`` from 1 to 200.

    Bad input is a 400 naming the parameter, as everywhere in the API: a cursor that is not one of ours
    (DRF answers 404 "Invalid cursor"), and a ``page_size`` that is not a whole number in range (DRF
    ignores it silently)."""

    ordering = "-id"
    page_size = 50
    page_size_query_param = "page_size"
    max_page_size = 200
    invalid_cursor_message = _("Not a cursor from this list: use the `next` or `previous` link of a page.")

    def paginate_queryset(self, queryset, request, view=None):
        self._model = queryset.model
        return super().paginate_queryset(queryset, request, view)

    def get_page_size(self, request):
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        try:
            size = int(raw)
        except ValueError:
            size = 0
        if str(size) != raw.strip() or not 1 <= size <= self.max_page_size:
            raise ValidationError({self.page_size_query_param: [
                _("A whole number from 1 to %(max)d.") % {"max": self.max_page_size}]})
        return size

    def decode_cursor(self, request):
        try:
            cursor = super().decode_cursor(request)
        except NotFound as exc:  # DRF's answer to a cursor it cannot decode
            raise self._invalid() from exc
        if cursor is not None and cursor.position is not None:
            self._check_position(cursor.position)
        return cursor

    def _check_position(self, position: str) -> None:
        """A decoded cursor's position must be a value of the field the page is ordered by: a forged one
        would otherwise reach the database (a 500) or compare as text."""
        model = getattr(self, "_model", None)
        if model is None:
            return
        path = self.ordering[0].lstrip("-").split("__")
        try:
            for name in path[:-1]:
                model = model._meta.get_field(name).related_model
            field = model._meta.get_field(path[-1])
            field.run_validators(field.to_python(position))
        except FieldDoesNotExist:
            return
        except (DjangoValidationError, ValueError, TypeError, AttributeError, OverflowError) as exc:
            raise self._invalid() from exc

    def _invalid(self) -> ValidationError:
        return ValidationError({self.cursor_query_param: [self.invalid_cursor_message]})

    def get_schema_operation_parameters(self, view):
        parameters = super().get_schema_operation_parameters(view)
        for parameter in parameters:
            if parameter["name"] == self.page_size_query_param:
                parameter["schema"] = {"type": "integer", "minimum": 1, "maximum": self.max_page_size}
        return parameters
