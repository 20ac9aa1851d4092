"""Patrol records: visits, safety inspections and residence permits (workflows in the patrol issue)."""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from registry.audit import audited
from registry.scoping import ScopedQuerySet
from registry.validators import VisibleTextValidator


class PropertyScopedQuerySet(ScopedQuerySet):
    """Scope through the record's property (station, landlord or employer)."""

    property_path = "property"

    def scope_filter(self, scope):
        path = self.property_path
        if scope.station_ids is not None:
            return Q(**{f"{path}__station_id__in": scope.station_ids})
        if scope.landlord_id:
            return Q(**{f"{path}__landlord_id": scope.landlord_id})
        if scope.employer_id:
            return Q(**{f"{path}__employer_id": scope.employer_id})
        return None


class VisitOutcomeChoices(models.TextChoices):
    CONFIRMED = "confirmed", _("Confirmed living here")
    MOVED_OUT = "moved_out", _("Moved out")
    NOT_FOUND = "not_found", pgettext_lazy("visit outcome", "Not found")


@audited
class Visit(models.Model):
    """A staff member at a property on a date; one visit covers every check due there."""

    property = models.ForeignKey("housing.Property", on_delete=models.PROTECT, related_name="visits",
                                 verbose_name=_("property"))
    visited_on = models.DateField(_("visited on"))
    visited_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                   related_name="+", verbose_name=_("visited by"))
    note = models.TextField(_("note"), blank=True, validators=[VisibleTextValidator(_("note"))])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = PropertyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit")
        verbose_name_plural = _("visits")
        ordering = ["-visited_on", "-id"]

    def __str__(self):
        return f"{self.property} {self.visited_on}"

    def get_audit_station_id(self):
        return self.property.station_id

    def get_change_scope(self):
        return self.property.get_change_scope()


class VisitOutcomeQuerySet(PropertyScopedQuerySet):
    property_path = "visit__property"


@audited
class VisitOutcome(models.Model):
    """What a visit found for one residence."""

    visit = models.ForeignKey(Visit, on_delete=models.CASCADE, related_name="outcomes", verbose_name=_("visit"))
    residence = models.ForeignKey("housing.Residence", on_delete=models.PROTECT, related_name="visit_outcomes",
                                  verbose_name=_("residence"))
    outcome = models.CharField(_("outcome"), max_length=16, choices=VisitOutcomeChoices.choices)
    moved_out_on = models.DateField(_("moved out on"), null=True, blank=True)

    objects = VisitOutcomeQuerySet.as_manager()

    class Meta:
        verbose_name = _("visit outcome")
        verbose_name_plural = _("visit outcomes")
        constraints = [
            models.UniqueConstraint(fields=["visit", "residence"], name="visit_outcome_once_per_residence"),
            models.CheckConstraint(
                name="visit_outcome_moved_out_has_date",
                condition=~Q(outcome="moved_out") | Q(moved_out_on__isnull=False),
                violation_error_message=_("Moved out on: give the date the resident left."),
            ),
        ]

    def __str__(self):
        return f"{self.residence_id}: {self.outcome}"

    def get_audit_station_id(self):
        return self.residence.station_id


@audited
class Inspection(models.Model):
    """A safety checklist for a property: pass or fail per item, with notes."""

    CHECKLIST = ("fire_extinguishers", "escape_routes", "wiring", "partitions", "gas")

    property = models.ForeignKey("housing.Property", on_delete=models.PROTECT, related_name="inspections",
                                 verbose_name=_("property"))
    inspected_on = models.DateField(_("inspected on"))
    inspector = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                                  related_name="+", verbose_name=_("inspector"))
    fire_extinguishers = models.BooleanField(_("fire extinguishers present and in date"))
    escape_routes = models.BooleanField(_("escape routes clear"))
    wiring = models.BooleanField(_("electrical wiring safe"))
    partitions = models.BooleanField(_("no illegal partitions"))
    gas = models.BooleanField(_("gas installation safe"))
    passed = models.BooleanField(_("passed"), editable=False, default=False)
    notes = models.TextField(_("notes"), blank=True, validators=[VisibleTextValidator(_("notes"))])
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = PropertyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("inspection")
        verbose_name_plural = _("inspections")
        ordering = ["-inspected_on", "-id"]
        indexes = [models.Index(fields=["property", "-inspected_on"], name="inspection_latest_idx")]

    def __str__(self):
        return f"{self.property} {self.inspected_on}"

    def get_audit_station_id(self):
        return self.property.station_id

    def get_change_scope(self):
        return self.property.get_change_scope()

    def save(self, *args, **kwargs):
        self.passed = all(getattr(self, item) for item in self.CHECKLIST)
        super().save(*args, **kwargs)


class ResidencePermitQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        return None


@audited
class ResidencePermit(models.Model):
    """A residence permit (居住证) issued to a person, endorsed yearly."""

    person = models.ForeignKey("persons.Person", on_delete=models.PROTECT, related_name="permits",
                               verbose_name=_("person"))
    station = models.ForeignKey("registry.Station", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("issued by"))
    number = models.CharField(_("permit number"), max_length=32, unique=True,
                              validators=[VisibleTextValidator(_("permit number"))])
    issued_on = models.DateField(_("issued on"))
    expires_on = models.DateField(_("expires on"))
    last_endorsed_on = models.DateField(_("last endorsed on"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ResidencePermitQuerySet.as_manager()

    class Meta:
        verbose_name = _("residence permit")
        verbose_name_plural = _("residence permits")
        ordering = ["-issued_on"]
        constraints = [
            models.CheckConstraint(
                name="permit_expires_after_issue",
                condition=Q(expires_on__gt=F("issued_on")),
                violation_error_message=_("Expires on: must be after the issue date."),
            ),
        ]

    def __str__(self):
        return self.number

    def get_audit_station_id(self):
        return self.station_id


class PropertyRatingQuerySet(PropertyScopedQuerySet):
    def current(self):
        return self.filter(is_current=True)


class PropertyRating(models.Model):
    """A dated snapshot of a property's compliance rating, with its components and their evidence.

    Rates the property's compliance (PRODUCT.md "Star rating"), never the people living there.
    Exactly one snapshot per property is current; older ones are the history.
    """

    property = models.ForeignKey("housing.Property", on_delete=models.CASCADE, related_name="ratings",
                                 verbose_name=_("property"))
    computed_at = models.DateTimeField(_("computed at"))
    run = models.CharField(max_length=40, db_index=True)
    is_current = models.BooleanField(default=True)
    total = models.PositiveSmallIntegerField(_("points"), null=True, blank=True)
    stars = models.PositiveSmallIntegerField(_("stars"), default=0, help_text=_("0 means not yet rated."))
    # Components (points); NULL = no data for that component in the period.
    registration = models.PositiveSmallIntegerField(null=True, blank=True)
    verification = models.PositiveSmallIntegerField(null=True, blank=True)
    inspection = models.PositiveSmallIntegerField(default=0)
    occupancy = models.PositiveSmallIntegerField(default=0)
    agreement = models.PositiveSmallIntegerField(default=0)
    # Evidence behind the components, shown to the landlord with "what would raise it".
    arrivals = models.PositiveIntegerField(default=0)
    arrivals_on_time = models.PositiveIntegerField(default=0)
    departures = models.PositiveIntegerField(default=0)
    departures_on_time = models.PositiveIntegerField(default=0)
    current_residents = models.PositiveIntegerField(default=0)
    overdue_residents = models.PositiveIntegerField(default=0)
    last_inspection_on = models.DateField(null=True, blank=True)
    last_inspection_passed = models.BooleanField(null=True, blank=True)
    units_over_capacity = models.PositiveIntegerField(default=0)
    agreement_signed_on = models.DateField(null=True, blank=True)
    requests_unanswered = models.PositiveIntegerField(default=0)

    objects = PropertyRatingQuerySet.as_manager()

    class Meta:
        verbose_name = _("property rating")
        verbose_name_plural = _("property ratings")
        ordering = ["-computed_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["property"], condition=Q(is_current=True),
                                    name="rating_one_current_per_property"),
        ]

    def __str__(self):
        return f"{self.property_id}: {self.stars}★ ({self.total})"


class VerificationRequestKind(models.TextChoices):
    VISIT = "visit", _("Visit by station staff")
    OWNER_CONFIRMATION = "owner", _("Confirmation by landlord or employer")


class VerificationRequest(models.Model):
    """Re-verification due at one property: one open request per property, not one per person."""

    property = models.ForeignKey("housing.Property", on_delete=models.CASCADE, related_name="verification_requests",
                                 verbose_name=_("property"))
    kind = models.CharField(_("who verifies"), max_length=8, choices=VerificationRequestKind.choices)
    opened_on = models.DateField(_("opened on"))
    due_since = models.DateField(_("due since"))
    closed_on = models.DateField(_("closed on"), null=True, blank=True)
    escalated_on = models.DateField(_("escalated on"), null=True, blank=True)

    objects = PropertyScopedQuerySet.as_manager()

    class Meta:
        verbose_name = _("verification request")
        verbose_name_plural = _("verification requests")
        ordering = ["due_since", "id"]
        constraints = [
            models.UniqueConstraint(fields=["property"], condition=Q(closed_on__isnull=True),
                                    name="verification_one_open_per_property"),
        ]

    def __str__(self):
        return f"{self.property_id} since {self.due_since}"


class ReceiptKindChoices(models.TextChoices):
    REGISTRATION = "registration", _("Registration receipt")
    PERMIT = "permit", _("Residence permit receipt")


class ReceiptQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        return None


class Receipt(models.Model):
    """A printed receipt handed to a resident (a registration or a residence permit), behind a QR code whose
    public page says only which station issued it and when."""

    token = models.CharField(max_length=64, unique=True, editable=False)
    kind = models.CharField(_("kind"), max_length=16, choices=ReceiptKindChoices.choices)
    station = models.ForeignKey("registry.Station", on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("issued by"))
    issued_on = models.DateField(_("issued on"))
    residence = models.ForeignKey("housing.Residence", on_delete=models.PROTECT, null=True, blank=True,
                                  related_name="receipts", verbose_name=_("residence"))
    permit = models.ForeignKey(ResidencePermit, on_delete=models.PROTECT, null=True, blank=True,
                               related_name="receipts", verbose_name=_("residence permit"))
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = ReceiptQuerySet.as_manager()

    class Meta:
        verbose_name = _("receipt")
        verbose_name_plural = _("receipts")
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                name="receipt_of_its_kind",
                condition=(Q(kind="registration", residence__isnull=False, permit__isnull=True)
                           | Q(kind="permit", permit__isnull=False, residence__isnull=True)),
                violation_error_message=_("A receipt is for one registration or one residence permit."),
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.issued_on}"

    def get_audit_station_id(self):
        return self.station_id
