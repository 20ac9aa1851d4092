"""Writes and audited reads of persons. Views, the API, imports and tasks all call these."""

from django.core.exceptions import PermissionDenied, ValidationError
from django.utils.translation import gettext as _

from registry import audit

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
    return reason


def person_unmask(*, user, person: Person, reason: str, via: str) -> str:
    """The full document number, after recording who asked and why."""
    reason = person_check_unmask(user=user, reason=reason)
    audit.record_unmask(user, person, reason=reason, via=via)
    return person.document_number


def persons_anonymise_expired(*, today=None, batch_size: int = 1000) -> int:
    """Anonymise persons with no current residence for the retention period (3 years by default).

    Name, document number, phone, place of household registration and occupation are replaced;
    residences stay, so counts and history are kept. The audit trail is not touched.
    """
    import datetime

    from django.conf import settings
    from django.db import transaction
    from django.db.models import Exists, Max, OuterRef, Q
    from django.utils import timezone

    from housing.models import Residence
    from registry.models import AuditAction

    today = today or timezone.localdate()
    cutoff = today - datetime.timedelta(days=settings.REGISTRY["ANONYMISE_AFTER_DAYS"])
    current = Residence.objects.filter(person=OuterRef("pk"), status__in=["active", "unconfirmed"])
    candidates = (Person.objects.filter(anonymised_at__isnull=True).exclude(Exists(current))
                  .annotate(last_left=Max("residences__end_date"))
                  .filter(Q(last_left__lt=cutoff) | Q(last_left__isnull=True, created_at__date__lt=cutoff)))
    total = 0
    while True:
        ids = list(candidates.values_list("pk", flat=True)[:batch_size])
        if not ids:
            return total
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
        total += len(people)
