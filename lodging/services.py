"""Writes to the guest register: check a guest in, check them out. The portal page, the API and the demo call
these; nothing else writes a stay."""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from housing.models import Property
from registry.services import versioned_save

from .models import Stay


def late_after() -> datetime.timedelta:
    return datetime.timedelta(minutes=settings.REGISTRY["LODGING_LATE_MINUTES"])


@transaction.atomic
def stay_check_in(*, lodging: Property, actor, document_type: str, document_number: str, document_country: str = "",
                  name: str, room: str, nights: int, arrived_at: datetime.datetime | None = None) -> Stay:
    """Record a guest who arrived at ``arrived_at`` (now if not given); late if recorded more than
    ``LODGING_LATE_MINUTES`` after it."""
    now = timezone.now()
    arrived_at = arrived_at or now
    stay = Stay(property=lodging, station_id=lodging.station_id, document_type=document_type,
                document_number=document_number, document_country=document_country, name=name, room=room,
                nights=nights, arrived_at=arrived_at, checked_in_at=now, checked_in_by=actor,
                is_late=now - arrived_at > late_after())
    stay.full_clean()
    stay.save()
    return stay


def check_stay_check_out(*, stay: Stay) -> None:
    if stay.checked_out_at is not None:
        raise ValidationError(_("This guest has already checked out."), code="checked_out")


@transaction.atomic
def stay_check_out(*, stay: Stay, at: datetime.datetime | None = None, expected_version: int | None = None) -> Stay:
    """The guest left (now, unless ``at`` says when). A second tap changes nothing: it is refused."""
    check_stay_check_out(stay=stay)
    stay.checked_out_at = max(at or timezone.now(), stay.arrived_at)
    versioned_save(stay, expected_version=expected_version, fields=["checked_out_at"])
    return stay
