from django.db import models
from django.utils.translation import gettext_lazy as _


class DocumentTypeChoices(models.TextChoices):
    RESIDENT_ID = "resident_id", _("Resident identity card")
    HKMT_PERMIT = "hkmt_permit", _("Hong Kong/Macao/Taiwan residence permit")
    FOREIGN_PERMANENT_ID = "foreign_permanent_id", _("Foreign permanent residence ID card")
    PASSPORT = "passport", _("Passport")


class SexChoices(models.TextChoices):
    MALE = "M", _("Male")
    FEMALE = "F", _("Female")
