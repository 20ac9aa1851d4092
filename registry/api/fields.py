"""JSON bodies are taken at their word: a value of the wrong JSON type is a 400 naming the field.

DRF is lenient on purpose: a text field takes the number ``0`` as ``"0"``, a whole-number field takes the
text ``"12"``, a yes/no field takes ``1`` or ``"yes"``. That leniency suits HTML forms, where everything is
text, but an API client whose generated code sends ``{"name": 0}`` deserves the same 400 the schema
promises. So, for every serializer of a JSON body (any data that is not a form's ``QueryDict``), text
fields take strings only, whole-number fields JSON integers only and yes/no fields ``true``/``false`` only.
Forms and multipart bodies are unchanged.

Installed once, for every serializer of every app (``RegistryConfig.ready``), so that endpoints added
later are covered without doing anything.
"""

from django.http import QueryDict
from rest_framework import fields

_INSTALLED = False


def _json_body(field) -> bool:
    root = field.root
    data = getattr(root, "initial_data", None)
    return data is not None and root is not field and not isinstance(data, QueryDict)


def _is_text(data) -> bool:
    return isinstance(data, str)


def _is_whole_number(data) -> bool:
    return (isinstance(data, int) and not isinstance(data, bool)) or (isinstance(data, float) and data.is_integer())


def _is_yes_no(data) -> bool:
    return isinstance(data, bool)


def _strict(field_class, accepts, error_key):
    original = field_class.to_internal_value

    def to_internal_value(self, data):
        if _json_body(self) and not accepts(data):
            self.fail(error_key)
        return original(self, data)

    to_internal_value.__wrapped__ = original
    field_class.to_internal_value = to_internal_value


def install() -> None:
    global _INSTALLED
    if _INSTALLED:
        return
    _INSTALLED = True
    _strict(fields.CharField, _is_text, "invalid")
    _strict(fields.IntegerField, _is_whole_number, "invalid")
    _strict(fields.BooleanField, _is_yes_no, "invalid")
