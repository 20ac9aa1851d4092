"""Writes for registrations: start, end, move and correct a residence.

The HTML views, the API, imports, the review queue and Celery tasks all call these; no rule about
a residence is written anywhere else.
"""

import datetime
from collections import defaultdict
from dataclasses import dataclass
from dataclasses import field as dataclass_field

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models import Exists, Max, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from persons.models import Employment, Person
from persons.services import persons_anonymise
from registry.audit import record_saved_many
from registry.bulk import bulk_update_rows, draw_keys, insert_objects, new_instance
from registry.models import Station
from registry.services import versioned_save
from registry.validators import validate_visible_text

from .extensions import property_inputs_changed, property_stars, stars_of_property
from .models import CURRENT_RESIDENCE_STATUSES as CURRENT
from .models import Residence, ResidenceEndReasonChoices, ResidenceSourceChoices, ResidenceStatusChoices, Unit
from .rules import next_verification_due


def _check_not_future(value: datetime.date, field: str, label: str, *, today: datetime.date | None = None) -> None:
    if value > (today or timezone.localdate()):
        raise ValidationError({field: _("%(label)s: cannot be in the future.") % {"label": label}})


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
        next_verification_due=next_verification_due(from_date=start_date, stars=stars_of_property(unit.property_id)),
    )
    residence.full_clean()
    residence.save()
    property_inputs_changed(unit.property_id)
    return residence


def residence_check_end(*, residence: Residence, end_date: datetime.date, end_reason: str = "") -> None:
    if end_reason and end_reason not in ResidenceEndReasonChoices.values:
        raise ValidationError({"end_reason": _("Reason for moving out: choose one of the reasons offered.")})
    if residence.status == ResidenceStatusChoices.ENDED:
        raise ValidationError(_("This registration has already ended."), code="ended")
    _check_not_future(end_date, "end_date", _("Moved out"))
    if end_date < residence.start_date:
        raise ValidationError({"end_date": _("Moved out: must not be before the move-in date (%(date)s).")
                               % {"date": residence.start_date}})


@transaction.atomic
def residence_end(*, residence: Residence, end_date: datetime.date, note: str = "", end_reason: str = "",
                  moved_to: Unit | None = None, expected_version: int | None = None,
                  reported_on: datetime.date | None = None, ended_via: str = "") -> Residence:
    """Deregister: the person moved out on ``end_date``, for ``end_reason`` (a ``ResidenceEndReasonChoices``;
    the desk and the API ask it, an owner's report or a visit does not know it). History is kept; nothing is
    deleted."""
    residence_check_end(residence=residence, end_date=end_date, end_reason=end_reason)
    residence.status = ResidenceStatusChoices.ENDED
    residence.end_date = end_date
    residence.end_reason = end_reason
    residence.moved_to = moved_to
    residence.ended_via = ended_via
    residence.end_reported_on = reported_on or timezone.localdate()
    residence.next_verification_due = None
    if note:
        residence.note = f"{residence.note}\n{note}".strip()
    versioned_save(residence, expected_version=expected_version,
                   fields=["status", "end_date", "end_reason", "moved_to", "ended_via", "end_reported_on",
                           "next_verification_due", "note"])
    property_inputs_changed(residence.unit.property_id)
    return residence


def move_reasons(pairs: list[tuple[int, int]]) -> list[str]:
    """Why registrations end when their persons move, for (old station, new station) pairs: within the district
    or out of it. One query however many."""
    districts = dict(Station.objects.filter(pk__in={pk for pair in pairs for pk in pair})
                     .values_list("pk", "district_id"))
    return [ResidenceEndReasonChoices.MOVED_WITHIN if districts.get(old) == districts.get(new)
            else ResidenceEndReasonChoices.LEFT_DISTRICT for old, new in pairs]


def residence_check_move(*, current: Residence, unit: Unit) -> None:
    if current.unit_id == unit.pk:
        raise ValidationError({"unit": _("Unit: the person is already registered in this unit.")})


@transaction.atomic
def residence_move(*, person: Person, unit: Unit, start_date: datetime.date, reason: str,
                   source: str = ResidenceSourceChoices.DESK, actor=None, note: str = "",
                   reported_on: datetime.date | None = None) -> Residence:
    """“Moved here”: end the current registration the day the new one starts, in one step."""
    current = Residence.objects.select_for_update().filter(person=person, status__in=CURRENT).first()
    if current is not None:
        residence_check_move(current=current, unit=unit)
        residence_end(residence=current, end_date=start_date, moved_to=unit,
                      end_reason=move_reasons([(current.station_id, unit.property.station_id)])[0])
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
    try:
        validate_visible_text(reason_for_change, field=_("Reason for the correction"))
    except ValidationError as exc:
        raise ValidationError({"reason_for_change": exc.error_list}) from None
    if not changes:
        raise ValidationError(_("Nothing was changed: edit a date or the reason, or cancel."), code="unchanged")
    property_inputs_changed(residence.unit.property_id)  # the old unit's property, if the unit changes
    for field, value in changes.items():
        setattr(residence, field, value)
    if "start_date" in changes:
        _check_not_future(residence.start_date, "start_date", _("Moved in"))
    if residence.end_date:
        _check_not_future(residence.end_date, "end_date", _("Moved out"))
    residence.note = f"{residence.note}\n{_('Corrected')}: {reason_for_change.strip()}".strip()
    residence.clean()
    versioned_save(residence, expected_version=expected_version, fields=[*changes, "note", "station"])
    property_inputs_changed(residence.unit.property_id)
    return residence


def person_check_duplicate(*, name: str, birth_date: datetime.date, document_hash: str) -> list[Person]:
    """Persons with the same name and birth date but another document: possibly the same person."""
    return list(
        Person.objects.filter(name=name, birth_date=birth_date).exclude(document_hash=document_hash)[:5]
    )


@dataclass
class Registration:
    """One resident to register: who (``identity``, the Person fields), where, from when and why.

    ``registrations_check`` fills in ``errors`` (field → messages), the ``person`` already registered
    under the document, if any, and the ``current`` residence that registering here would end.
    """

    identity: dict
    unit: Unit
    start_date: datetime.date
    reason: str
    reported_on: datetime.date | None = None
    employer: object = None
    job_title: str = ""
    # The import re-reads files: a person already living in this unit since this date is then left as is.
    unchanged_ok: bool = False
    errors: dict = dataclass_field(default_factory=dict)
    # A new person, built and checked once (by the first check, or by an import's own check of the row).
    new_person: Person | None = None
    person: Person | None = None
    current: Residence | None = None
    unchanged: bool = False
    residence: Residence | None = None

    def add_error(self, exc: ValidationError) -> None:
        for name, messages in (exc.message_dict if hasattr(exc, "error_dict") else {"__all__": exc.messages}).items():
            self.errors.setdefault(name, []).extend(messages)

    @property
    def document_key(self) -> str:
        identity = self.identity
        return Person.document_key(identity.get("document_type", ""), identity.get("document_number", ""),
                                   identity.get("document_country", ""))


def _name_check(person: Person, identity: dict) -> None:
    if identity.get("name") and person.name != identity["name"]:
        raise ValidationError({"name": _(
            "Name: this document number is registered under another name; check the card and the number.")})


_FILLABLE = ("phone", "hukou_address", "occupation")


def registrations_check(entries: list[Registration], *, lock: bool = False) -> None:
    """Decide every registration without writing, the same rules as one registration at the desk: the
    person's fields (``Person`` rules), one person per document, the name under a known number, the move-in
    date, and ending the current residence the day the new one starts. A fixed number of queries however
    many entries; with ``lock`` the known persons and their current residences are locked for the write."""
    keys = [entry.document_key for entry in entries]
    seen, today = {}, timezone.localdate()
    for entry, key in zip(entries, keys, strict=True):
        entry.errors, entry.person, entry.current, entry.unchanged = {}, None, None, False
        if key in seen:
            entry.add_error(ValidationError({"document_number": _(
                "Document number: the same person is registered twice in one go; keep one.")}))
        seen.setdefault(key, entry)
        if entry.start_date > today:
            entry.add_error(ValidationError({"start_date": _("%(label)s: cannot be in the future.")
                                             % {"label": _("Moved in")}}))
    persons = Person.objects.filter(document_hash__in=set(keys))
    if lock:
        persons = persons.select_for_update()
    known = {(person.document_type, person.document_hash): person for person in persons}
    for entry, key in zip(entries, keys, strict=True):
        entry.person = known.get((entry.identity.get("document_type"), key))
    residences = Residence.objects.filter(person__in=[e.person for e in entries if e.person], status__in=CURRENT)
    if lock:
        residences = residences.select_for_update(of=("self",))
    current = {residence.person_id: residence for residence in residences.select_related("unit__property")}
    for entry in entries:
        if entry.person is None:
            if entry.new_person is None:  # the person's own fields do not change between checks
                person = Person(**entry.identity)
                try:
                    person.clean_fields(exclude=["registered_station"])
                    person.clean_values()
                except ValidationError as exc:
                    entry.add_error(exc)
                    continue
                entry.new_person = person
            continue
        try:
            _name_check(entry.person, entry.identity)
        except ValidationError as exc:
            entry.add_error(exc)
        entry.current = current.get(entry.person.pk)
        if entry.current is None:
            continue
        same = entry.current.unit_id == entry.unit.pk and entry.current.start_date == entry.start_date
        if entry.unchanged_ok and same and entry.current.status == ResidenceStatusChoices.ACTIVE:
            entry.unchanged = True
            continue
        try:
            residence_check_move(current=entry.current, unit=entry.unit)
            residence_check_end(residence=entry.current, end_date=entry.start_date)
        except ValidationError as exc:
            entry.add_error(exc)


# The residence fields ``registrations_apply`` fills in itself (the rest come from the caller: when, why, how
# it was reported): validating them again for every one of an import's rows cost more than building the rows.
_RESIDENCE_OWN_FIELDS = frozenset(field.name for field in Residence._meta.concrete_fields) - {
    "start_date", "reason", "source", "reported_on"}


@dataclass
class RegistrationBatch:
    """Registrations checked under locks, with everything their writing will need to read already read
    (``registrations_prepare``); ``registrations_write`` writes them without another read."""

    todo: list[Registration]
    end_reasons: list[str]
    stars: dict
    lived: dict
    person_keys: list | None
    residence_keys: list | None


def registrations_prepare(entries: list[Registration]) -> RegistrationBatch:
    """The reading half of ``registrations_apply``, inside the caller's transaction: check every entry, locking
    the known persons and their current residences (ValidationError, with each entry's ``errors`` filled in,
    if any is refused), then read what the writing needs: the move-out reasons, the properties' ratings, the
    stations the known persons lived in, and the new persons' and residences' keys."""
    registrations_check(entries, lock=True)
    refused = [entry for entry in entries if entry.errors]
    if refused:
        raise ValidationError(refused[0].errors if len(entries) == 1 else _(
            "%(count)d of the registrations were refused; nothing was saved.") % {"count": len(refused)})
    todo = [entry for entry in entries if not entry.unchanged]
    moving = [(entry.current.station_id, entry.unit.property.station_id) for entry in todo
              if entry.current is not None]
    return RegistrationBatch(
        todo=todo, end_reasons=move_reasons(moving) if moving else [],
        stars=property_stars({entry.unit.property_id for entry in todo}) if todo else {},
        lived=_stations_lived(todo), person_keys=draw_keys(Person, sum(entry.person is None for entry in todo)),
        residence_keys=draw_keys(Residence, len(todo)))


def registrations_apply(entries: list[Registration], *, source: str = ResidenceSourceChoices.DESK,
                        actor=None) -> None:
    """Register every entry in one transaction: all of them or, if any is refused, none (ValidationError,
    with each entry's ``errors`` filled in). New persons, blank fields of known ones, the residences they
    leave and the new residences are each written in one statement, and audited and fed to the change feed
    like single saves. Entries marked ``unchanged`` are left as they are."""
    with transaction.atomic():
        registrations_write(registrations_prepare(entries), source=source, actor=actor)


def registrations_write(batch: RegistrationBatch, *, source: str = ResidenceSourceChoices.DESK,
                        actor=None) -> None:
    """The writing half of ``registrations_apply``, in the transaction ``registrations_prepare`` ran in. It reads
    nothing (but for employments, which imports do not have), so an import's COPYs stream on in the background
    (``copies_in_background``) while the next batch is built. A later batch may be prepared before an earlier
    one is written only if no person is in both (an import: one row per document)."""
    todo = batch.todo
    now, today = timezone.now(), timezone.localdate()
    new_people, filled = [], []
    person_keys = iter(batch.person_keys or ())
    for entry in todo:
        if entry.person is None:
            entry.person = entry.new_person
            entry.person.pk = next(person_keys, None)
            entry.person.registered_station_id = entry.unit.property.station_id
            entry.person.sync_document_columns()
            entry.person.sync_name_columns()
            new_people.append(entry.person)
            continue
        fields = [name for name in _FILLABLE if entry.identity.get(name) and not getattr(entry.person, name)]
        if fields:
            for name in fields:
                setattr(entry.person, name, entry.identity[name])
            entry.person.clean_values()
            entry.person.version += 1
            entry.person.updated_at = now
            filled.append(entry.person)
    # Moving out: the current residence ends the day the new one starts.
    ended = [entry.current for entry in todo if entry.current is not None]
    reasons = iter(batch.end_reasons)
    for entry in todo:
        if entry.current is not None:
            old = entry.current
            old.status, old.end_date, old.end_reported_on = ResidenceStatusChoices.ENDED, entry.start_date, today
            old.next_verification_due = None
            old.end_reason, old.moved_to = next(reasons), entry.unit
            old.version += 1
            old.updated_at = now
    bulk_update_rows(Person, filled, [*_FILLABLE, "version", "updated_at"])
    bulk_update_rows(Residence, ended, ["status", "end_date", "end_reported_on", "next_verification_due",
                                        "end_reason", "moved_to", "version", "updated_at"])
    try:
        insert_objects(Person, new_people)
    except IntegrityError:
        # Someone registered one of these documents between the check and the write.
        raise ValidationError({"document_number": _(
            "Document number: this person was registered by someone else a moment ago; nothing was saved. "
            "Try again: they will be found and moved here.")}) from None
    created_by = actor if getattr(actor, "is_authenticated", False) else None
    related = {"created_by": created_by} if created_by is not None else {}
    keys, stars = batch.residence_keys, batch.stars
    for n, entry in enumerate(todo):
        station_id = entry.unit.property.station_id
        entry.residence = new_instance(Residence, {
            "id": keys[n] if keys else None, "station_id": station_id,
            "registered_elsewhere": entry.person.registered_station_id != station_id,
            "start_date": entry.start_date, "reason": entry.reason, "source": source,
            "status": ResidenceStatusChoices.ACTIVE, "reported_on": entry.reported_on or today,
            "next_verification_due": next_verification_due(from_date=entry.start_date,
                                                           stars=stars.get(entry.unit.property_id, 0)),
        }, related={"person": entry.person, "unit": entry.unit, **related})
        # The fields the caller's values went into; the rest are this function's own.
        entry.residence.clean_fields(exclude=_RESIDENCE_OWN_FIELDS)
    insert_objects(Residence, [entry.residence for entry in todo])
    # The trail and the feed, as the signal receivers would have written them one save at a time.
    person_scopes = _person_scopes(todo, batch.lived)
    record_saved_many(new_people, created=True, change_scopes=person_scopes)
    record_saved_many(filled, created=False, change_scopes=person_scopes)
    record_saved_many(ended, created=False)
    record_saved_many([entry.residence for entry in todo], created=True)
    for entry in todo:
        if entry.employer is not None:
            Employment.objects.get_or_create(person=entry.person, employer=entry.employer, end_date=None,
                                             defaults={"start_date": entry.start_date,
                                                       "job_title": entry.job_title})
    for property_id in sorted({e.unit.property_id for e in todo} | {r.unit.property_id for r in ended}):
        property_inputs_changed(property_id)


def _stations_lived(entries: list[Registration]) -> dict:
    """The stations each known person has lived in (by person id), in one query: new persons have none."""
    lived = defaultdict(set)
    known = [entry.person.pk for entry in entries if entry.person is not None and entry.person.pk is not None]
    for person_id, station_id in Residence.objects.filter(person_id__in=known).values_list(
            "person_id", "station_id").distinct():
        lived[person_id].add(station_id)
    return lived


def _person_scopes(entries: list[Registration], lived: dict) -> dict:
    """A registered person's change-feed scope: filed under the new residence's station, copied to every
    other station that can read them (registered there or lived there, ``lived`` before this registration,
    whose own station is the one it is filed under)."""
    persons = {entry.person.pk: entry for entry in entries}
    return {pk: ((entry.unit.property.station_id, None, None),
                 lived.get(pk, set()) | {entry.person.registered_station_id})
            for pk, entry in persons.items()}


def person_register(*, identity: dict, unit: Unit, start_date: datetime.date, reason: str,
                    source: str = ResidenceSourceChoices.DESK, actor=None, employer=None,
                    job_title: str = "", reported_on: datetime.date | None = None) -> Residence:
    """Register a resident: find the person by document (or create them), then start the residence.

    A person already living elsewhere is moved here in the same transaction ("moved here").
    ``identity`` holds the Person fields; for an existing person only blank fields are filled in.
    The same service as an import, for one entry.
    """
    entry = Registration(identity=identity, unit=unit, start_date=start_date, reason=reason,
                         reported_on=reported_on, employer=employer, job_title=job_title)
    registrations_apply([entry], source=source, actor=actor)
    return entry.residence


def persons_anonymise_expired(*, today=None, batch_size: int = 1000) -> int:
    """Anonymise persons with no current residence for the retention period (3 years by default), in
    batches (``persons.services.persons_anonymise``). Residences stay, so counts and history are kept; the
    audit trail is not touched. Returns how many."""
    today = today or timezone.localdate()
    cutoff = today - datetime.timedelta(days=settings.REGISTRY["ANONYMISE_AFTER_DAYS"])
    current = Residence.objects.filter(person=OuterRef("pk"), status__in=CURRENT)
    candidates = (Person.objects.filter(anonymised_at__isnull=True).exclude(Exists(current))
                  .annotate(last_left=Max("residences__end_date"))
                  .filter(Q(last_left__lt=cutoff) | Q(last_left__isnull=True, created_at__date__lt=cutoff)))
    total = 0
    while True:
        ids = list(candidates.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
        total += persons_anonymise(ids=ids)
