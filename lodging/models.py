"""Short-stay lodging's guest register (issue 17, point 1): small hotels, guesthouses and homestays whose operator
(the property's landlord, with a portal account) checks guests in and out, instead of a paper book.

A stay keeps the guest's document as the registry keeps every document number (encrypted, hashed, masked). It
is not a person's registration: a guest who stays longer than ``REGISTRY["LODGING_LONG_STAY_DAYS"]`` is pointed
out to the station, which registers a residence. A stay shows on the page of a person registered under the same
document (by its hash). Its guest's details are removed ``RETENTION_DAYS["stays"]`` after check-out.
"""

import datetime

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from housing.models import LODGING_TYPES, Property
from persons.models import IdentityDocument, NamedMixin
from persons.validators import validate_person_name
from registry.audit import audited
from registry.scoping import ScopedQuerySet
from registry.validators import VisibleTextValidator


class StayQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        if scope.landlord_id:
            return Q(property__landlord_id=scope.landlord_id)
        return None

    def staying(self):
        """Guests in now: checked in and not yet out."""
        return self.filter(checked_out_at__isnull=True)

    def long(self, now: datetime.datetime | None = None):
        """Guests still in after ``LODGING_LONG_STAY_DAYS``: the station should register a residence."""
        days = settings.REGISTRY["LODGING_LONG_STAY_DAYS"]
        return self.staying().filter(arrived_at__lt=(now or timezone.now()) - datetime.timedelta(days=days))

    def on_day(self, day: datetime.date):
        """Guests in at some time of ``day`` (local): arrived before it ended, not out before it began."""
        zone = timezone.get_current_timezone()
        start = datetime.datetime.combine(day, datetime.time.min, tzinfo=zone)
        end = start + datetime.timedelta(days=1)
        return self.filter(arrived_at__lt=end).filter(Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=start))


@audited
class Stay(IdentityDocument, NamedMixin):
    """One guest's stay at a lodging: checked in by the operator, checked out with one tap."""

    property = models.ForeignKey("housing.Property", on_delete=models.PROTECT, related_name="stays",
                                 verbose_name=_("lodging"))
    # Copied from the property: the station's ledger and its scope filter on one indexed column.
    station = models.ForeignKey("registry.Station", on_delete=models.PROTECT, related_name="+", editable=False)
    room = models.CharField(_("room"), max_length=20, validators=[VisibleTextValidator(_("room"))])
    nights = models.PositiveSmallIntegerField(_("nights expected"),
                                              validators=[MinValueValidator(1), MaxValueValidator(365)])
    arrived_at = models.DateTimeField(_("arrived at"))
    checked_in_at = models.DateTimeField(_("checked in at"), default=timezone.now, editable=False)
    # Recorded more than LODGING_LATE_MINUTES after the guest arrived.
    is_late = models.BooleanField(_("recorded late"), default=False, editable=False)
    checked_out_at = models.DateTimeField(_("checked out at"), null=True, blank=True)
    checked_in_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                      related_name="+", editable=False)
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = StayQuerySet.as_manager()
    audit_personal_fields = ("name", "room")

    class Meta:
        verbose_name = _("stay")
        verbose_name_plural = _("stays")
        ordering = ["-arrived_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="stay_out_after_in",
                condition=Q(checked_out_at__isnull=True) | Q(checked_out_at__gte=models.F("arrived_at")),
                violation_error_message=_("Checked out: the guest cannot leave before arriving.")),
        ]
        indexes = [
            # The station's ledger, newest first; "in now" is the same index's rows without a check-out.
            models.Index(fields=["station", "-arrived_at"], name="stay_station_idx"),
            models.Index(fields=["property", "-arrived_at"], name="stay_property_idx"),
            models.Index(fields=["property"], condition=Q(checked_out_at__isnull=True), name="stay_in_now_idx"),
            # persons.selectors.document_condition: passports by the last four characters, passports alone.
            models.Index(fields=["document_tail_hash"], condition=Q(document_type="passport"),
                         name="stay_passport_tail_idx"),
        ]

    def __str__(self):
        return f"{self.property_id} {self.room} {self.arrived_at:%Y-%m-%d}"

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        return self.station_id, self.property.landlord_id, None

    # Methods, not properties: the ``property`` field shadows the decorator in this class body.
    def expected_out(self) -> datetime.date:
        return timezone.localtime(self.arrived_at).date() + datetime.timedelta(days=self.nights)

    def nights_so_far(self) -> int:
        end = self.checked_out_at or timezone.now()
        return max((timezone.localtime(end).date() - timezone.localtime(self.arrived_at).date()).days, 0)

    def clean(self):
        errors = self.clean_document()
        try:
            self.name = validate_person_name(self.name)
        except ValidationError as exc:
            errors["name"] = exc.messages
        if self.property_id:
            prop = Property.objects.only("property_type", "station_id").get(pk=self.property_id)
            if prop.property_type not in LODGING_TYPES:
                errors["property"] = [_("Lodging: guests are registered only at a hotel, guesthouse or homestay.")]
            self.station_id = prop.station_id
        if self.arrived_at and self.arrived_at > timezone.now() + datetime.timedelta(minutes=5):
            errors["arrived_at"] = [_("Arrived at: this time is in the future.")]
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.document_number:
            self.sync_document_columns()
        self.sync_name_columns()
        super().save(*args, **kwargs)
