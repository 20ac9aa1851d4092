import html

from django import forms
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.utils.functional import Promise
from django.utils.html import conditional_escape
from django.utils.safestring import mark_safe
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .models import Station
from .scoping import scoped_choices


class DateInput(forms.DateInput):
    input_type = "date"

    def __init__(self, **kwargs):
        super().__init__(format="%Y-%m-%d", **kwargs)


def add_service_error(form, exc: ValidationError) -> None:
    """Attach a service's ValidationError to the form: on its field when the form has one, else on top."""
    if not hasattr(exc, "error_dict"):
        form.add_error(None, exc)
        return
    for field, errors in exc.error_dict.items():
        form.add_error(field if field in form.fields or field == NON_FIELD_ERRORS else None, errors)


def _escape(value) -> str:
    """``conditional_escape`` without its lazy-string wrapper and ``SafeString`` per call: the same text (the
    FastSelect tests compare with Django's HTML). Kept beside Django's because a select of 500 employers renders
    in 0.7 ms with it and 2.2 ms with ``conditional_escape``."""
    if isinstance(value, Promise):
        value = str(value)
    if hasattr(value, "__html__"):
        return value.__html__()
    return html.escape(str(value))


def _attrs(attrs: dict) -> str:
    """Django's ``attrs.html``, escaped: `` name="value"`` in order, a bare name for True, nothing for False."""
    return "".join(f" {name}" if value is True else f' {name}="{conditional_escape(value)}"'
                   for name, value in attrs.items() if value is not False)


class FastSelect(forms.Select):
    """``forms.Select`` with its options written here, not through one template include per option.

    Byte for byte the HTML of Django's ``select.html`` and ``select_option.html``
    (tests/registry/test_fast_select.py); a station's list of a hundred employers rendered through
    templates took longer than the rest of the registration page.
    """

    def render(self, name, value, attrs=None, renderer=None):
        # The widget's own context without its options (``Widget.get_context``): Django's ``optgroups`` builds a
        # dict of eleven keys for each option, which the loop below does not need.
        widget = forms.Widget.get_context(self, name, value, attrs)["widget"]
        chosen, has_selected = widget["value"], False
        parts = [f'<select name="{conditional_escape(widget["name"])}"{_attrs(widget["attrs"])}>']
        for option_value, option_label in self.choices:  # as ``ChoiceWidget.optgroups`` reads them
            if option_value is None:
                option_value = ""
            if isinstance(option_label, (list, tuple)):
                group_name, options = option_value, option_label
            else:
                group_name, options = None, [(option_value, option_label)]
            if group_name:
                parts.append(f'\n  <optgroup label="{_escape(group_name)}">')
            for subvalue, sublabel in options:
                selected = not has_selected and str(subvalue) in chosen
                has_selected |= selected
                parts.append(f'\n  <option value="{_escape(subvalue)}"{" selected" if selected else ""}>'
                             f'{_escape(sublabel)}</option>\n')
            if group_name:
                parts.append("\n  </optgroup>")
        parts.append("\n</select>")
        # Every name, value and label above was escaped (conditional_escape or _escape), as autoescape does.
        return mark_safe("".join(parts))  # noqa: S308


class NamedChoiceIterator(forms.models.ModelChoiceIterator):
    """Options read as ``(id, name)`` pairs: no model instance (with its audit snapshot) for each option."""

    def __iter__(self):
        if self.field.empty_label is not None:
            yield ("", self.field.empty_label)
        yield from self.queryset.values_list("pk", "name")


class NamedModelChoiceField(forms.ModelChoiceField):
    """A ``ModelChoiceField`` whose options are labelled by the rows' ``name`` (their ``__str__``), for a long list.

    A station's 500 employers at five million persons: building an instance per option, each snapshotted for
    the audit trail, took two thirds of the registration form's second step (35 ms in all). A choice is still
    checked against the field's queryset, as ``ModelChoiceField`` does.
    """

    iterator = NamedChoiceIterator


class BootstrapFormMixin:
    """Give widgets Bootstrap classes, and mark fields with errors invalid (for screen readers too)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            widget = field.widget
            if getattr(widget, "input_type", "") in ("checkbox", "hidden"):
                continue
            if type(widget) is forms.Select:  # noqa: E721 - exactly Select, not a subclass with its own template
                widget.__class__ = FastSelect
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


class NamedErrorsMixin:
    """Generic errors name their field, like the model rules do: "Address: this field is required."."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for field in self.fields.values():
            label = field.label or ""
            field.error_messages["required"] = _("%(label)s: this field is required.") % {"label": label}
            if "invalid_choice" in field.error_messages:
                field.error_messages["invalid_choice"] = _(
                    "%(label)s: choose one of the options offered.") % {"label": label}


class VersionedFormMixin:
    """Edit forms post back the version they were loaded with; ``versioned_save`` compares it."""

    def add_version_field(self):
        if self.instance.pk:
            self.fields["version"] = forms.IntegerField(widget=forms.HiddenInput())
            self.initial["version"] = self.instance.version


class StationFormMixin:
    """New records belong to a station: the user's own, or one they choose when their scope has several."""

    def setup_station(self, user):
        if "station" not in self.fields:
            return
        stations = scoped_choices(Station, user).order_by("name")
        if self.instance.pk:
            del self.fields["station"]  # a record does not change station by editing it
            return
        only = list(stations[:2])
        if len(only) == 1:
            del self.fields["station"]
            self.instance.station = only[0]
        else:
            self.fields["station"].queryset = stations


class ApiTokenForm(BootstrapFormMixin, forms.Form):
    """A new API token. The expiry's limits are ``api_token_create``'s (shared with the API), not the form's."""

    name = forms.CharField(
        label=pgettext_lazy("of an API token", "Name"), max_length=100,
        help_text=_("What the token is for, e.g. the system that will use it. You can revoke it at any time."),
        error_messages={"required": _("Name: say what the token is for, e.g. the system that will use it.")})
    expires_in_days = forms.IntegerField(
        label=_("Expires after (days)"), required=False,
        error_messages={"invalid": _("Expires after: a whole number of days.")})
    read_only = forms.BooleanField(label=_("Read only: it may read what you can see, and change nothing"),
                                   required=False)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        days = self.fields["expires_in_days"]
        days.initial = settings.REGISTRY["TOKEN_DAYS_DEFAULT"]
        days.widget.attrs.update(min=1, max=settings.REGISTRY["TOKEN_DAYS_MAX"])
        days.help_text = _("From 1 to %(max)d days. After that it stops working and you create a new one.") % {
            "max": settings.REGISTRY["TOKEN_DAYS_MAX"]}
