"""Writes and audited reads of persons. Views, the API, imports and tasks all call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from registry import audit

from .models import Person

UNMASK_REASON_MIN_LENGTH = 4


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
    return reason


def person_unmask(*, user, person: Person, reason: str, via: str) -> str:
    """The full document number, after recording who asked and why."""
    reason = person_check_unmask(user=user, reason=reason)
    audit.record_unmask(user, person, reason=reason, via=via)
    return person.document_number
