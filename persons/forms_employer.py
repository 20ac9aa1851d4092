"""The employer form; the USCC and contact rules live in ``Employer.clean()``."""

from django import forms
from django.utils.translation import gettext_lazy as _

from registry.forms import BootstrapFormMixin, NamedErrorsMixin, StationFormMixin, VersionedFormMixin

from .models import Employer


class EmployerForm(NamedErrorsMixin, VersionedFormMixin, StationFormMixin, BootstrapFormMixin,
                   forms.ModelForm):
    class Meta:
        model = Employer
        fields = ["name", "uscc", "address", "contact_name", "contact_phone", "station"]
        widgets = {
            "uscc": forms.TextInput(attrs={"autocomplete": "off", "autocapitalize": "characters",
                                           "spellcheck": "false"}),
            "contact_phone": forms.TextInput(attrs={"inputmode": "tel", "autocomplete": "off"}),
        }
        help_texts = {
            "uscc": _("18 characters, as on the business licence (统一社会信用代码)."),
        }
        error_messages = {
            "uscc": {"unique": _("Unified social credit code: an employer with this code is already registered.")},
        }

    save_fields = ["name", "uscc", "address", "contact_name", "contact_phone"]

    def __init__(self, *args, user, **kwargs):
        super().__init__(*args, **kwargs)
        self.setup_station(user)
        self.add_version_field()
