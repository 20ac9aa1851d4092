"""Writes for registrations: start, end, move and correct a residence.

The HTML views, the API, imports, the review queue and Celery tasks all call these; no rule about
a residence is written anywhere else.
"""

import datetime

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from persons.models import Person
from registry.services import versioned_save

from .models import Residence, ResidenceSourceChoices, ResidenceStatusChoices, Unit
from .rules import next_verification_due


def rating_refresh_on_commit(property_id: int) -> None:
    from patrol.refresh import rating_refresh_on_commit as refresh

    refresh(property_id)

CURRENT = (ResidenceStatusChoices.ACTIVE, ResidenceStatusChoices.UNCONFIRMED)


def _check_not_future(value: datetime.date, field: str, label: str) -> None:
    if value > timezone.localdate():
        raise ValidationError({field: _("%(label)s: cannot be in the future.") % {"label": label}})


def current_stars(property_id: int) -> int:
    from patrol.rating import current_stars as stars

    return stars(property_id)


def residence_check_start(*, person: Person, unit: Unit, start_date: datetime.date) -> None:
    """Preconditions for a new registration; raises ValidationError naming the field."""
    _check_not_future(start_date, "start_date", _("Moved in"))
    current = Residence.objects.filter(person=person, status__in=CURRENT).select_related("unit__property").first()
    if current is not None:
        raise ValidationError({"person": _(
            "Person: already registered at %(place)s since %(date)s; use “moved here” to end that "
            "registration and start this one."
        ) % {"place": current.unit, "date": current.start_date}})


@transaction.atomic
def residence_start(*, person: Person, unit: Unit, start_date: datetime.date, reason: str,
                    source: str = ResidenceSourceChoices.DESK, actor=None, reported_on: datetime.date | None = None,
                    status: str = ResidenceStatusChoices.ACTIVE, note: str = "") -> Residence:
    """Register ``person`` as living in ``unit`` from ``start_date``."""
    residence_check_start(person=person, unit=unit, start_date=start_date)
    residence = Residence(
        person=person, unit=unit, start_date=start_date, reason=reason, source=source, status=status,
        reported_on=reported_on or timezone.localdate(), note=note,
        created_by=actor if getattr(actor, "is_authenticated", False) else None,
        next_verification_due=next_verification_due(from_date=start_date, stars=current_stars(unit.property_id)),
    )
    residence.full_clean()
    residence.save()
    rating_refresh_on_commit(unit.property_id)
    return residence


def residence_check_end(*, residence: Residence, end_date: datetime.date) -> None:
    if residence.status == ResidenceStatusChoices.ENDED:
        raise ValidationError(_("This registration has already ended."), code="ended")
    _check_not_future(end_date, "end_date", _("Moved out"))
    if end_date < residence.start_date:
        raise ValidationError({"end_date": _("Moved out: must not be before the move-in date (%(date)s).")
                               % {"date": residence.start_date}})


@transaction.atomic
def residence_end(*, residence: Residence, end_date: datetime.date, note: str = "",
                  expected_version: int | None = None, reported_on: datetime.date | None = None) -> Residence:
    """Deregister: the person moved out on ``end_date``. History is kept; nothing is deleted."""
    residence_check_end(residence=residence, end_date=end_date)
    residence.status = ResidenceStatusChoices.ENDED
    residence.end_date = end_date
    residence.end_reported_on = reported_on or timezone.localdate()
    residence.next_verification_due = None
    if note:
        residence.note = f"{residence.note}\n{note}".strip()
    versioned_save(residence, expected_version=expected_version,
                   fields=["status", "end_date", "end_reported_on", "next_verification_due", "note"])
    rating_refresh_on_commit(residence.unit.property_id)
    return residence


@transaction.atomic
def residence_move(*, person: Person, unit: Unit, start_date: datetime.date, reason: str,
                   source: str = ResidenceSourceChoices.DESK, actor=None, note: str = "",
                   reported_on: datetime.date | None = None) -> Residence:
    """“Moved here”: end the current registration the day the new one starts, in one step."""
    current = Residence.objects.select_for_update().filter(person=person, status__in=CURRENT).first()
    if current is not None:
        if current.unit_id == unit.pk:
            raise ValidationError({"unit": _("Unit: the person is already registered in this unit.")})
        residence_end(residence=current, end_date=start_date, note=_("Moved to %(unit)s") % {"unit": unit})
    return residence_start(person=person, unit=unit, start_date=start_date, reason=reason, source=source,
                           actor=actor, note=note, reported_on=reported_on)


@transaction.atomic
def residence_correct(*, residence: Residence, reason_for_change: str, expected_version: int | None = None,
                      **changes) -> Residence:
    """Correct a registration's dates, reason or unit; the audit trail keeps the old values."""
    allowed = {"start_date", "end_date", "reason", "unit"}
    unknown = set(changes) - allowed
    if unknown:
        raise ValidationError(_("These fields cannot be corrected here: %(fields)s") % {"fields": ", ".join(unknown)})
    if not (reason_for_change or "").strip():
        raise ValidationError({"reason_for_change": _("Reason for the correction: this field is required.")})
    if not changes:
        raise ValidationError(_("Nothing was changed: edit a date or the reason, or cancel."), code="unchanged")
    rating_refresh_on_commit(residence.unit.property_id)  # the old unit's property, if the unit changes
    for field, value in changes.items():
        setattr(residence, field, value)
    if "start_date" in changes:
        _check_not_future(residence.start_date, "start_date", _("Moved in"))
    if residence.end_date:
        _check_not_future(residence.end_date, "end_date", _("Moved out"))
    residence.note = f"{residence.note}\n{_('Corrected')}: {reason_for_change.strip()}".strip()
    residence.clean()
    versioned_save(residence, expected_version=expected_version, fields=[*changes, "note", "station"])
    rating_refresh_on_commit(residence.unit.property_id)
    return residence


def person_check_duplicate(*, name: str, birth_date: datetime.date, document_hash: str) -> list[Person]:
    """Persons with the same name and birth date but another document: possibly the same person."""
    return list(
        Person.objects.filter(name=name, birth_date=birth_date).exclude(document_hash=document_hash)[:5]
    )


@transaction.atomic
def person_register(*, identity: dict, unit: Unit, start_date: datetime.date, reason: str,
                    source: str = ResidenceSourceChoices.DESK, actor=None, employer=None,
                    job_title: str = "", reported_on: datetime.date | None = None) -> Residence:
    """Register a resident: find the person by document (or create them), then start the residence.

    A person already living elsewhere is moved here in the same transaction ("moved here").
    ``identity`` holds the Person fields; for an existing person only blank fields are filled in.
    """
    from persons.models import Employment

    document_key = Person.document_key(identity["document_type"], identity["document_number"],
                                       identity.get("document_country", ""))
    person = Person.objects.select_for_update().filter(
        document_type=identity["document_type"], document_hash=document_key).first()
    if person is None:
        person = Person(**identity, registered_station_id=unit.property.station_id)
        person.full_clean()
        person.save()
    else:
        if identity.get("name") and person.name != identity["name"]:
            raise ValidationError({"name": _(
                "Name: this document number is registered under another name; check the card and the number.")})
        filled = [f for f in ("phone", "hukou_address", "occupation") if identity.get(f) and not getattr(person, f)]
        if filled:
            for field in filled:
                setattr(person, field, identity[field])
            versioned_save(person, expected_version=None, fields=filled)
    residence = residence_move(person=person, unit=unit, start_date=start_date, reason=reason, source=source,
                               actor=actor, reported_on=reported_on)
    if employer is not None:
        Employment.objects.get_or_create(person=person, employer=employer, end_date=None,
                                         defaults={"start_date": start_date, "job_title": job_title})
    return residence
