"""Writes for the portal and the review queue: reports, withdrawals, approvals, rejections, confirmations, appeals.

Landlords and employers never change a registration directly: what they report waits as a
``Submission`` until station staff approve it, and the approval calls the same housing services as
the desk (``person_register``, ``residence_end``) with the landlord or employer as the source.
"""

import datetime
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from housing.extensions import property_inputs_changed
from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import (
    Property,
    Residence,
    ResidenceEndedViaChoices,
    ResidenceSourceChoices,
    ResidenceStatusChoices,
    Unit,
)
from housing.rules import next_verification_due
from housing.services import person_register, residence_end
from patrol.models import PropertyRating, VerificationRequest, VerificationRequestKind
from patrol.rating import current_stars
from persons.choices import DocumentTypeChoices
from persons.models import Person
from persons.validators import document_birth_date, document_sex, normalize_phone, validate_person_name
from registry.notifications import notify
from registry.services import StaleVersionError, versioned_save

from .models import (
    AppealStatusChoices,
    RatingAppeal,
    Submission,
    SubmissionKindChoices,
    SubmissionStatusChoices,
)


def _deadline_days() -> int:
    return settings.REGISTRY["REPORT_DEADLINE_DAYS"]


def _check_date(value: datetime.date, *, field: str = "date") -> None:
    if value > timezone.localdate():
        raise ValidationError({field: _("Date: cannot be in the future.")})


def _owner_source(prop: Property) -> str:
    return ResidenceSourceChoices.EMPLOYER if prop.employer_id else ResidenceSourceChoices.LANDLORD


# --- reporting (landlords and employers) --------------------------------------------------------

def submission_check_arrival(*, submission: Submission) -> None:
    """Every field of a reported arrival; raises ValidationError naming each bad field."""
    errors = submission.clean_document()
    try:
        submission.name = validate_person_name(submission.name)
    except ValidationError as exc:
        errors["name"] = exc.messages
    if submission.phone:
        try:
            submission.phone = normalize_phone(submission.phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages
    if submission.document_type == DocumentTypeChoices.PASSPORT:
        if not submission.birth_date:
            errors["birth_date"] = [_("Date of birth: required for a passport.")]
        if not submission.sex:
            errors["sex"] = [_("Sex: required for a passport.")]
    if submission.date and submission.date > timezone.localdate():
        errors["date"] = [_("Moved in: cannot be in the future.")]
    if submission.unit_id and submission.unit.property_id != submission.property_id:
        errors["unit"] = [_("Unit: choose a unit of this property.")]
    if errors:
        raise ValidationError(errors)
    submission.sync_document_columns()
    waiting = Submission.objects.waiting().filter(
        property_id=submission.property_id, kind=SubmissionKindChoices.ARRIVAL,
        document_type=submission.document_type, document_hash=submission.document_hash)
    if waiting.exists():
        raise ValidationError({"document_number": _(
            "Document number: an arrival of this person at this property is already waiting for review.")})
    living_here = Residence.objects.filter(
        unit__property_id=submission.property_id, status__in=CURRENT,
        person__document_type=submission.document_type, person__document_hash=submission.document_hash)
    if living_here.exists():
        raise ValidationError({"document_number": _(
            "Document number: this person is already registered at this property.")})


@transaction.atomic
def submission_report_arrival(*, prop: Property, unit: Unit, actor, document_type: str, document_number: str,
                              name: str, date: datetime.date, reason: str, phone: str = "",
                              document_country: str = "", birth_date: datetime.date | None = None,
                              sex: str = "") -> Submission:
    """A landlord or employer reports that someone moved in; it waits for review. Late reports are kept, marked late."""
    today = timezone.localdate()
    submission = Submission(
        kind=SubmissionKindChoices.ARRIVAL, property=prop, unit=unit, document_type=document_type,
        document_number=document_number, document_country=document_country, name=name, phone=phone,
        birth_date=birth_date, sex=sex, reason=reason, date=date, reported_on=today, submitted_by=actor,
        station_id=prop.station_id,
    )
    submission_check_arrival(submission=submission)
    submission.is_late = (today - date).days > _deadline_days()
    submission.full_clean(exclude=["document_number"])
    submission.save()
    return submission


def submission_check_departure(*, residence: Residence, prop: Property, date: datetime.date) -> None:
    if residence.unit.property_id != prop.pk or residence.status not in CURRENT:
        raise ValidationError({"residence": _("Tenant: choose someone who currently lives at this property.")})
    _check_date(date)
    if date < residence.start_date:
        raise ValidationError({"date": _("Moved out: must not be before the move-in date (%(date)s).")
                               % {"date": residence.start_date}})
    if Submission.objects.waiting().filter(residence=residence, kind=SubmissionKindChoices.DEPARTURE).exists():
        raise ValidationError({"residence": _("Tenant: a departure of this person is already waiting for review.")})


@transaction.atomic
def submission_report_departure(*, prop: Property, residence: Residence, actor, date: datetime.date) -> Submission:
    """A landlord or employer reports that a tenant moved out; it waits for review."""
    submission_check_departure(residence=residence, prop=prop, date=date)
    today = timezone.localdate()
    submission = Submission(
        kind=SubmissionKindChoices.DEPARTURE, property=prop, unit_id=residence.unit_id, residence=residence,
        date=date, reported_on=today, is_late=(today - date).days > _deadline_days(), submitted_by=actor,
        station_id=prop.station_id,
    )
    submission.save()
    return submission


@transaction.atomic
def submission_withdraw(*, submission: Submission, expected_version: int | None = None) -> Submission:
    if submission.status != SubmissionStatusChoices.WAITING:
        raise ValidationError(_("Only a submission that is still waiting can be withdrawn."), code="decided")
    submission.status = SubmissionStatusChoices.WITHDRAWN
    versioned_save(submission, expected_version=expected_version, fields=["status"])
    return submission


# --- review (station staff) ---------------------------------------------------------------------

@dataclass(frozen=True)
class IdentityCheck:
    """How a reported arrival compares with the person already registered under that document."""

    person: Person | None
    name_differs: bool = False
    birth_date_differs: bool = False
    reported_birth_date: datetime.date | None = None

    @property
    def mismatch(self) -> bool:
        return self.name_differs or self.birth_date_differs


def _reported_identity(submission: Submission) -> dict:
    born = document_birth_date(submission.document_type, submission.document_number) or submission.birth_date
    sex = document_sex(submission.document_type, submission.document_number) or submission.sex
    return {"document_type": submission.document_type, "document_number": submission.document_number,
            "document_country": submission.document_country, "name": submission.name, "phone": submission.phone,
            "birth_date": born, "sex": sex}


def submission_identity_checks(submissions) -> dict[int, IdentityCheck]:
    """For each arrival, the person already known by its document number (any station) and any mismatch.

    One query for the whole page. The person is shown to staff only when they may see them; the
    mismatch flags are shown either way so that a wrong name is caught before approval.
    """
    arrivals = [s for s in submissions if s.kind == SubmissionKindChoices.ARRIVAL and s.document_hash]
    people = {(p.document_type, p.document_hash): p for p in Person.objects.filter(
        document_hash__in=[s.document_hash for s in arrivals]).only(
        "id", "name", "birth_date", "document_type", "document_hash", "registered_station_id")}
    checks = {}
    for submission in arrivals:
        person = people.get((submission.document_type, submission.document_hash))
        reported = _reported_identity(submission)
        if person is None:
            checks[submission.pk] = IdentityCheck(person=None, reported_birth_date=reported["birth_date"])
            continue
        checks[submission.pk] = IdentityCheck(
            person=person, name_differs=person.name != submission.name,
            birth_date_differs=bool(reported["birth_date"]) and person.birth_date != reported["birth_date"],
            reported_birth_date=reported["birth_date"])
    return checks


def submission_check_decide(*, submission: Submission) -> None:
    if submission.status != SubmissionStatusChoices.WAITING:
        raise ValidationError(_("This submission has already been decided (%(status)s).")
                              % {"status": submission.get_status_display()}, code="decided")


def _tell_submitter(submission: Submission) -> None:
    if submission.submitted_by_id is None:
        return
    from django.urls import reverse

    with translation.override(settings.LANGUAGE_CODE):
        what = _("Arrival of %(name)s") % {"name": submission.name} if submission.kind == "arrival" else (
            _("Departure of %(name)s") % {"name": submission.residence.person.name})
        if submission.status == SubmissionStatusChoices.APPROVED:
            title = _("%(what)s: approved") % {"what": what}
            body = ""
        else:
            title = _("%(what)s: rejected") % {"what": what}
            body = _("Reason: %(reason)s") % {"reason": submission.rejection_reason}
    notify(user=submission.submitted_by, key=f"submission:{submission.pk}:{submission.status}",
           kind="submission_decided", title=title, body=body, url=reverse("portal:submission_list"))


@transaction.atomic
def submission_approve(*, submission: Submission, actor, expected_version: int | None = None) -> Submission:
    """Apply a report through the normal services, with the landlord or employer as the source."""
    submission = Submission.objects.select_for_update().select_related("property", "unit__property").get(
        pk=submission.pk)
    if expected_version is not None and submission.version != expected_version:
        raise StaleVersionError()
    submission_check_decide(submission=submission)
    prop = submission.property
    if submission.kind == SubmissionKindChoices.ARRIVAL:
        residence = person_register(
            identity=_reported_identity(submission), unit=submission.unit, start_date=submission.date,
            reason=submission.reason or "other", source=_owner_source(prop), actor=actor,
            employer=prop.employer if prop.employer_id else None, reported_on=submission.reported_on)
        submission.residence = residence
    else:
        residence = Residence.objects.select_for_update().get(pk=submission.residence_id)
        residence_end(residence=residence, end_date=submission.date, reported_on=submission.reported_on,
                      ended_via=ResidenceEndedViaChoices.OWNER)
    submission.status = SubmissionStatusChoices.APPROVED
    submission.decided_by = actor
    submission.decided_at = timezone.now()
    versioned_save(submission, expected_version=None,
                   fields=["status", "decided_by", "decided_at", "residence"])
    _tell_submitter(submission)
    property_inputs_changed(prop.pk)
    return submission


@transaction.atomic
def submission_reject(*, submission: Submission, actor, reason: str,
                      expected_version: int | None = None) -> Submission:
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({"rejection_reason": _("Reason for rejection: this field is required.")})
    submission_check_decide(submission=submission)
    submission.status = SubmissionStatusChoices.REJECTED
    submission.rejection_reason = reason
    submission.decided_by = actor
    submission.decided_at = timezone.now()
    versioned_save(submission, expected_version=expected_version,
                   fields=["status", "rejection_reason", "decided_by", "decided_at"])
    _tell_submitter(submission)
    return submission


@transaction.atomic
def submissions_reject(*, submissions, actor, reason: str) -> list[Submission]:
    """Reject several at once with one reason, by the rules of ``submission_reject``: all of them or, if any
    cannot be rejected (decided meanwhile), none; the ValidationError then names each that could not (its
    ``params["refused"]``: the submissions). Each owner is told with the reason, as for one."""
    if not (reason or "").strip():
        raise ValidationError({"rejection_reason": _("Reason for rejection: this field is required.")})
    locked = list(Submission.objects.select_for_update(of=("self",)).filter(pk__in=[s.pk for s in submissions])
                  .select_related("residence__person").order_by("created_at", "id"))
    refused = [s for s in locked if s.status != SubmissionStatusChoices.WAITING]
    if refused:
        raise ValidationError(
            _("Nothing was rejected: %(count)d of the reports selected can no longer be rejected (already "
              "decided or withdrawn).") % {"count": len(refused)}, code="decided", params={"refused": refused})
    return [submission_reject(submission=submission, actor=actor, reason=reason) for submission in locked]


def submissions_approve(*, submissions, actor) -> tuple[list[Submission], list[tuple[Submission, str]]]:
    """Approve several at once; each on its own, so one that fails leaves the others approved."""
    approved, failed = [], []
    for submission in submissions:
        try:
            approved.append(submission_approve(submission=submission, actor=actor))
        except ValidationError as exc:
            failed.append((submission, " ".join(exc.messages)))
    return approved, failed


# --- occupant confirmation ----------------------------------------------------------------------

def occupants_check_confirm(*, prop: Property, residences: list[Residence], still_living: set[int],
                            moved_out: dict[int, datetime.date]) -> None:
    ids = {r.pk for r in residences}
    unknown = (still_living | set(moved_out)) - ids
    if unknown:
        raise ValidationError(_("Some of the people listed no longer live at this property; reload the page."))
    missing = ids - still_living - set(moved_out)
    if missing:
        raise ValidationError(_("Tick “still lives here” or “moved out” for everyone on the list."),
                              code="incomplete")
    for residence in residences:
        if residence.pk in moved_out:
            submission_check_departure(residence=residence, prop=prop, date=moved_out[residence.pk])


@transaction.atomic
def occupants_confirm(*, prop: Property, actor, still_living: set[int],
                      moved_out: dict[int, datetime.date]) -> dict:
    """The owner's roster confirmation: who still lives here, who left (a departure for review).

    For properties with enough stars (``SELF_CONFIRM_MIN_STARS``) it satisfies re-verification: the
    confirmed residences get their next due date and the open confirmation request closes.
    """
    residences = list(Residence.objects.select_for_update().filter(
        unit__property=prop, status__in=CURRENT).select_related("unit"))
    occupants_check_confirm(prop=prop, residences=residences, still_living=still_living, moved_out=moved_out)
    today = timezone.localdate()
    stars = current_stars(prop.pk)
    counts = {"confirmed": 0, "departures": 0, "verified": stars >= settings.REGISTRY["SELF_CONFIRM_MIN_STARS"]}
    for residence in residences:
        if residence.pk in moved_out:
            submission_report_departure(prop=prop, residence=residence, actor=actor, date=moved_out[residence.pk])
            counts["departures"] += 1
        elif counts["verified"]:
            residence.status = ResidenceStatusChoices.ACTIVE
            residence.next_verification_due = next_verification_due(from_date=today, stars=stars)
            versioned_save(residence, expected_version=None, fields=["status", "next_verification_due"])
            counts["confirmed"] += 1
    if counts["verified"]:
        VerificationRequest.objects.filter(property=prop, kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                           closed_on__isnull=True).update(closed_on=today)
        property_inputs_changed(prop.pk)
    return counts


# --- rating appeals -----------------------------------------------------------------------------

@transaction.atomic
def appeal_create(*, prop: Property, component: str, comment: str, actor) -> RatingAppeal:
    comment = (comment or "").strip()
    if not comment:
        raise ValidationError({"comment": _("Comment: say what you think is wrong and why.")})
    if RatingAppeal.objects.filter(property=prop, component=component, status=AppealStatusChoices.WAITING).exists():
        raise ValidationError({"component": _("Component: an appeal of this component is already waiting.")})
    appeal = RatingAppeal(property=prop, component=component, comment=comment, created_by=actor,
                          rating=PropertyRating.objects.filter(property=prop, is_current=True).first())
    appeal.full_clean()
    appeal.save()
    return appeal


@transaction.atomic
def appeal_answer(*, appeal: RatingAppeal, actor, accepted: bool, answer: str,
                  expected_version: int | None = None) -> RatingAppeal:
    """An officer answers an appeal; an accepted one triggers a fresh rating of the property."""
    answer = (answer or "").strip()
    if not answer:
        raise ValidationError({"answer": _("Answer: this field is required.")})
    if appeal.status != AppealStatusChoices.WAITING:
        raise ValidationError(_("This appeal has already been answered."), code="answered")
    appeal.status = AppealStatusChoices.ACCEPTED if accepted else AppealStatusChoices.REJECTED
    appeal.answer = answer
    appeal.answered_by = actor
    appeal.answered_at = timezone.now()
    versioned_save(appeal, expected_version=expected_version,
                   fields=["status", "answer", "answered_by", "answered_at"])
    if appeal.created_by_id:
        from django.urls import reverse

        with translation.override(settings.LANGUAGE_CODE):
            title = _("Your appeal about “%(component)s” was answered") % {
                "component": appeal.get_component_display()}
        notify(user=appeal.created_by, key=f"appeal:{appeal.pk}:answered", kind="appeal_answered", title=title,
               body=answer, url=reverse("portal:property_detail", args=[appeal.property_id]))
    if accepted:
        property_inputs_changed(appeal.property_id)
    return appeal
