"""Writes and audited reads of persons. Views, the API, imports and tasks all call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import audit
from registry.models import AuditAction
from registry.services import versioned_save
from registry.validators import validate_visible_text

from .models import Person
from .validators import document_birth_date

UNMASK_REASON_MIN_LENGTH = 4
ANONYMOUS_NAME = "已匿名"
ANONYMOUS_PINYIN = ("yiniming", "ynm")


def person_check_unmask(*, user, reason: str) -> str:
    """Decide whether ``user`` may see a full document number for ``reason``."""
    if not user.has_perm("persons.unmask_document"):
        raise PermissionDenied(_("You are not allowed to see full document numbers."))
    reason = (reason or "").strip()
    if len(reason) < UNMASK_REASON_MIN_LENGTH:
        raise ValidationError(
            {"reason": _("Reason: say why you need the full number (at least %(min)d characters).")
             % {"min": UNMASK_REASON_MIN_LENGTH}}
        )
    try:
        validate_visible_text(reason, field=_("Reason"))  # it is kept in the audit trail as typed
    except ValidationError as exc:
        raise ValidationError({"reason": exc.error_list}) from None
    return reason


def person_unmask(*, user, person: Person, reason: str, via: str) -> str:
    """The full document number, after recording who asked and why."""
    reason = person_check_unmask(user=user, reason=reason)
    audit.record_unmask(user, person, reason=reason, via=via)
    return person.document_number


def persons_anonymise(*, ids: list[int]) -> int:
    """Anonymise these persons: name, document number, phone, place of household registration and
    occupation are replaced, in one statement, and the batch is audited as one event. Who is due is decided
    by the retention rule (``housing.services.persons_anonymise_expired``). Returns how many."""
    with transaction.atomic():
        people = list(Person.objects.select_for_update().filter(pk__in=ids))
        now = timezone.now()
        for person in people:
            placeholder = f"ANON{person.pk:014d}"
            person.name = ANONYMOUS_NAME
            person.document_type = "passport"
            person.document_country = "XXX"
            person.document_number = placeholder
            person.document_hash = Person.document_key("passport", placeholder, "XXX")
            person.sync_document_columns()
            person.phone = person.hukou_address = person.occupation = ""
            person.name_pinyin, person.name_initials = ANONYMOUS_PINYIN
            person.anonymised_at = now
        Person.objects.bulk_update(people, ["name", "document_type", "document_country", "document_number",
                                            "document_hash", "document_head_hash", "document_tail_hash",
                                            "phone", "hukou_address",
                                            "occupation", "name_pinyin", "name_initials", "anonymised_at"])
        audit.record(action=AuditAction.UPDATE, object_type="persons.person", object_id="",
                     changes={"anonymised": len(people), "ids": ids}, reason="retention", via="task")
    return len(people)


# --- Corrections (issue 17, point 2) ------------------------------------------------------------------

CORRECTION_REASON_MAX_LENGTH = 500
# What a correction may change. The birth date and sex only where the document does not encode them (a
# passport): a resident ID's number says both, and the model refuses a value that disagrees with it.
CORRECTABLE_FIELDS = ("name", "phone", "hukou_address", "occupation")
CORRECTABLE_UNLESS_ENCODED = ("birth_date", "sex")


def person_correctable_fields(person: Person) -> tuple[str, ...]:
    """The fields a correction of ``person`` may change."""
    if document_birth_date(person.document_type, person.document_number or "") is None:
        return CORRECTABLE_FIELDS + CORRECTABLE_UNLESS_ENCODED
    return CORRECTABLE_FIELDS


def person_check_reason(*, reason: str, field: str = "reason") -> str:
    """A correction's stated reason, required; kept in the audit event as typed (so: visible text only)."""
    reason = (reason or "").strip()
    if not reason:
        raise ValidationError({field: _("Reason for the correction: this field is required.")})
    if len(reason) > CORRECTION_REASON_MAX_LENGTH:
        raise ValidationError({field: _("Reason for the correction: at most %(max)d characters.")
                               % {"max": CORRECTION_REASON_MAX_LENGTH}})
    try:
        validate_visible_text(reason, field=_("Reason for the correction"))
    except ValidationError as exc:
        raise ValidationError({field: exc.error_list}) from None
    return reason


@transaction.atomic
def person_correct(*, person: Person, reason: str, expected_version: int | None, **changes) -> Person:
    """Correct a person's details with a stated reason. Refused, with nothing written, when someone saved the
    person after ``expected_version`` was read (as the API's If-Match). The audit event lists the fields
    changed (personal values as "changed" only) and keeps the reason."""
    allowed = person_correctable_fields(person)
    unknown = sorted(set(changes) - set(allowed))
    if unknown:
        raise ValidationError(_("These fields cannot be corrected here: %(fields)s") % {"fields": ", ".join(unknown)},
                              code="not_correctable")
    reason = person_check_reason(reason=reason)
    changed = [name for name, value in changes.items() if getattr(person, name) != value]
    if not changed:
        raise ValidationError(_("Nothing was changed: edit a field, or cancel."), code="unchanged")
    for name in changed:
        setattr(person, name, changes[name])
    person._audit_reason = reason
    try:
        # full_clean() normalises the name and phone and checks the birth date and sex against the document;
        # saving the name refreshes its pinyin and initials, so search finds the new name at once.
        versioned_save(person, expected_version=expected_version, fields=changed)
    finally:
        person.__dict__.pop("_audit_reason", None)
    return person


@transaction.atomic
def person_replace_document(*, person: Person, document_type: str, document_number: str,
                            document_country: str = "", reason: str, expected_version: int | None) -> Person:
    """A new identity document for the same person (a new passport, a permit exchanged for an ID card): the
    person, their residences and their history stay; the number is validated as at registration, encrypted
    and hashed anew, so searches find the new number and no longer the old one. Refused when the number is
    the one already recorded or is registered to someone else. Audited with the reason."""
    reason = person_check_reason(reason=reason)
    old_key = person.document_hash
    person.document_type = document_type
    person.document_number = document_number
    person.document_country = document_country or ""
    errors = person.clean_document()
    if errors:
        raise ValidationError(errors)
    if Person.document_key(person.document_type, person.document_number, person.document_country) == old_key:
        raise ValidationError({"document_number": _(
            "Document number: this is the document already recorded; enter the new document's number.")},
            code="same_document")
    # Before the birth date and sex are compared with the number: another person's number is said as such.
    person.check_unique_document()
    person._audit_reason = reason
    try:
        # full_clean() (in versioned_save) refuses a number registered to another person and a birth date or
        # sex the new number contradicts; the unique constraint settles a race between two replacements.
        versioned_save(person, expected_version=expected_version,
                       fields=["document_type", "document_number", "document_country"])
    except IntegrityError:
        raise ValidationError({"document_number": Person.duplicate_message}, code="unique") from None
    finally:
        person.__dict__.pop("_audit_reason", None)
    return person
