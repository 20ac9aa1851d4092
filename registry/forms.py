from django.core.exceptions import NON_FIELD_ERRORS, ValidationError


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
