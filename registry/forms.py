from django import forms
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy


def add_service_error(form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: on its field when the form has one, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields or field == NON_FIELD_ERRORS else None, errors)


class BootstrapFormMixin:
    """Give widgets Bootstrap classes, and mark fields with errors invalid (for screen readers too)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if getattr(widget, "input_type", "") in ("checkbox", "hidden"):
                continue
            css = "form-select" if widget.__class__.__name__.endswith("Select") else "form-control"
            widget.attrs["class"] = f"{widget.attrs.get('class', '')} {css}".strip()

    def add_error(self, field, error):
        super().add_error(field, error)
        for name in self.errors:
            if name in self.fields:
                widget = self.fields[name].widget
                if "is-invalid" not in widget.attrs.get("class", ""):
                    widget.attrs["class"] = f"{widget.attrs.get('class', '')} is-invalid".strip()
                widget.attrs["aria-invalid"] = "true"
                widget.attrs["aria-describedby"] = f"id_{self.add_prefix(name)}_error"


class ApiTokenForm(BootstrapFormMixin, forms.Form):
    name = forms.CharField(
        label=pgettext_lazy("of an API token", "Name"), max_length=100,
        help_text=_("What the token is for, e.g. the system that will use it. You can revoke it at any time."),
        error_messages={"required": _("Name: say what the token is for, e.g. the system that will use it.")})
