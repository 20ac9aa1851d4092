"""What landlords and employers send in: reports of arrivals and departures, and rating appeals."""

import datetime

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from housing.models import Property
from patrol.models import PropertyScopedQuerySet
from persons.choices import SexChoices
from persons.models import IdentityDocument
from registry.audit import audited
from registry.crypto import EncryptedCharField
from registry.scoping import ScopedQuerySet
from registry.validators import VisibleTextValidator


class SubmissionKindChoices(models.TextChoices):
    ARRIVAL = "arrival", _("Arrival")
    DEPARTURE = "departure", _("Departure")


class SubmissionStatusChoices(models.TextChoices):
    WAITING = "waiting", _("Waiting for review")
    APPROVED = "approved", _("Approved")
    REJECTED = "rejected", _("Rejected")
    WITHDRAWN = "withdrawn", _("Withdrawn")


class SubmissionQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        if scope.landlord_id:
            return Q(property__landlord_id=scope.landlord_id)
        if scope.employer_id:
            return Q(property__employer_id=scope.employer_id)
        return None

    def waiting(self):
        return self.filter(status=SubmissionStatusChoices.WAITING)

    def submitted_before(self, day: datetime.date):
        """Sent in before ``day`` began (local time). The calendar's first and last days cannot be turned
        into UTC: nothing, or everything, lies before them."""
        if day <= datetime.date.min + datetime.timedelta(days=1):
            return self.none()
        if day >= datetime.date.max - datetime.timedelta(days=1):
            return self
        return self.filter(created_at__lt=timezone.make_aware(datetime.datetime.combine(day, datetime.time.min)))


@audited
class Submission(IdentityDocument):
    """An arrival or a departure reported by a landlord or an employer, waiting for station review."""

    kind = models.CharField(_("report"), max_length=12, choices=SubmissionKindChoices.choices)
    property = models.ForeignKey("housing.Property", on_delete=models.PROTECT, related_name="submissions",
                                 verbose_name=_("property"))
    unit = models.ForeignKey("housing.Unit", on_delete=models.PROTECT, related_name="submissions",
                             verbose_name=_("unit"))
    # Copied from the property so that the review queue filters on one indexed column.
    station = models.ForeignKey("registry.Station", on_delete=models.PROTECT, related_name="+", editable=False)
    # Arrivals: who arrived. Departures name the registration that ends and leave these blank.
    document_number = EncryptedCharField(_("document number"), blank=True)
    name = models.CharField(_("tenant's name"), max_length=100, blank=True)
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    # Passports carry neither; identity cards encode both in the number.
    birth_date = models.DateField(_("date of birth"), null=True, blank=True)
    sex = models.CharField(_("sex"), max_length=1, choices=SexChoices.choices, blank=True)
    reason = models.CharField(_("reason"), max_length=16, blank=True)
    # Departures: the registration that ends. Arrivals: the registration the approval created.
    residence = models.ForeignKey("housing.Residence", null=True, blank=True, on_delete=models.PROTECT,
                                  related_name="submissions", verbose_name=_("registration"))
    date = models.DateField(_("date"))
    reported_on = models.DateField(_("reported on"))
    is_late = models.BooleanField(_("reported late"), default=False, editable=False)
    status = models.CharField(_("status"), max_length=12, choices=SubmissionStatusChoices.choices,
                              default=SubmissionStatusChoices.WAITING)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                     related_name="+", verbose_name=_("submitted by"))
    decided_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("decided by"))
    decided_at = models.DateTimeField(_("decided at"), null=True, blank=True)
    rejection_reason = models.TextField(_("reason for rejection"), blank=True,
                                        validators=[VisibleTextValidator(_("reason for rejection"))])
    created_at = models.DateTimeField(_("submitted at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)
    # Set when the tenant's details were removed, a retention period after the decision (portal/retention.py).
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)

    objects = SubmissionQuerySet.as_manager()
    # Recorded in the audit trail as "set" / "changed", never in clear (registry/audit.py).
    audit_personal_fields = ("name", "phone", "birth_date", "rejection_reason")

    class Meta:
        verbose_name = _("submission")
        verbose_name_plural = _("submissions")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="submission_departure_names_residence",
                condition=~Q(kind="departure") | Q(residence__isnull=False),
                violation_error_message=_("Tenant: choose who moved out."),
            ),
            models.CheckConstraint(
                name="submission_rejection_has_reason",
                condition=~Q(status="rejected") | ~Q(rejection_reason=""),
                violation_error_message=_("Reason for rejection: this field is required."),
            ),
        ]
        indexes = [
            models.Index(fields=["station", "status", "created_at"], name="submission_queue_idx"),
            models.Index(fields=["property", "status"], name="submission_property_idx"),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.unit_id} {self.date}"

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        return self.property.get_change_scope()

    def deadline(self) -> datetime.date:
        """The last day a report of this move was on time."""
        return self.date + datetime.timedelta(days=settings.REGISTRY["REPORT_DEADLINE_DAYS"])

    def save(self, *args, **kwargs):
        if self.property_id and not self.station_id:
            self.station_id = Property.objects.values_list("station_id", flat=True).get(pk=self.property_id)
        if self.document_number:
            self.sync_document_columns()
        super().save(*args, **kwargs)


class RatingComponentChoices(models.TextChoices):
    REGISTRATION = "registration", _("Registration timeliness")
    VERIFICATION = "verification", _("Verification up to date")
    INSPECTION = "inspection", _("Safety inspection")
    OCCUPANCY = "occupancy", _("Occupancy within capacity")
    AGREEMENT = "agreement", _("Responsibility agreement and reminders")


class AppealStatusChoices(models.TextChoices):
    WAITING = "waiting", _("Waiting for an answer")
    ACCEPTED = "accepted", _("Accepted")
    REJECTED = "rejected", _("Not accepted")


@audited
class RatingAppeal(models.Model):
    """A landlord's or employer's objection to one component of a property's rating, and the officer's answer."""

    property = models.ForeignKey("housing.Property", on_delete=models.CASCADE, related_name="appeals",
                                 verbose_name=_("property"))
    rating = models.ForeignKey("patrol.PropertyRating", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="appeals", verbose_name=_("rating appealed"))
    component = models.CharField(_("component"), max_length=16, choices=RatingComponentChoices.choices)
    comment = models.TextField(_("comment"), validators=[VisibleTextValidator(_("comment"))])
    status = models.CharField(_("status"), max_length=12, choices=AppealStatusChoices.choices,
                              default=AppealStatusChoices.WAITING)
    answer = models.TextField(_("answer"), blank=True, validators=[VisibleTextValidator(_("answer"))])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("appealed by"))
    answered_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                    related_name="+", verbose_name=_("answered by"))
    answered_at = models.DateTimeField(_("answered at"), null=True, blank=True)
    created_at = models.DateTimeField(_("appealed at"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PropertyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("rating appeal")
        verbose_name_plural = _("rating appeals")
        ordering = ["created_at", "id"]
        constraints = [
            models.CheckConstraint(
                name="appeal_answered_has_answer",
                condition=Q(status="waiting") | ~Q(answer=""),
                violation_error_message=_("Answer: this field is required."),
            ),
        ]

    def __str__(self):
        return f"{self.property_id}: {self.get_component_display()}"

    def get_audit_station_id(self):
        return self.property.station_id

    def get_change_scope(self):
        return self.property.get_change_scope()
