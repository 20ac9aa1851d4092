"""Writes and audited reads of persons. Views, the API, imports and tasks all call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from registry import audit
from registry.models import AuditAction
from registry.validators import validate_visible_text

from .models import Person

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
