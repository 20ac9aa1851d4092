from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q
from django.utils.translation import gettext_lazy as _

from persons.models import Person, PersonRecord
from registry.audit import audited
from registry.models import Community, Station
from registry.scoping import ScopedQuerySet
from registry.validators import VisibleTextValidator


class PropertyTypeChoices(models.TextChoices):
    RESIDENTIAL_FLAT = "flat", _("Residential flat")
    SELF_BUILT = "self_built", _("Self-built rental building")
    GROUP_RENTAL = "group_rental", _("Group rental")
    DORMITORY = "dormitory", _("Employer dormitory")
    NON_RESIDENTIAL = "non_residential", _("Non-residential premises")
    OWNER_OCCUPIED = "owner_occupied", _("Owner-occupied")
    # Short-stay lodging: the operator (a landlord's portal account) keeps a guest register, not residences.
    HOTEL = "hotel", _("Small hotel")
    GUESTHOUSE = "guesthouse", _("Guesthouse")
    HOMESTAY = "homestay", _("Homestay")


LODGING_TYPES = (PropertyTypeChoices.HOTEL.value, PropertyTypeChoices.GUESTHOUSE.value,
                 PropertyTypeChoices.HOMESTAY.value)


class ResidenceReasonChoices(models.TextChoices):
    WORK = "work", _("Work")
    BUSINESS = "business", _("Business")
    STUDY = "study", _("Study")
    FAMILY = "family", _("Joining family")
    MEDICAL = "medical", _("Medical care")
    OTHER = "other", _("Other")


class ResidenceSourceChoices(models.TextChoices):
    DESK = "desk", _("Station desk")
    VISIT = "visit", _("Household visit")
    LANDLORD = "landlord", _("Landlord report")
    EMPLOYER = "employer", _("Employer report")
    IMPORT = "import", _("Import")
    API = "api", _("API")


class ResidenceStatusChoices(models.TextChoices):
    ACTIVE = "active", _("Active")
    UNCONFIRMED = "unconfirmed", _("Unconfirmed")
    ENDED = "ended", _("Ended")


class ResidenceEndReasonChoices(models.TextChoices):
    """Why a registration ended, asked when it is ended at the desk or through the API."""

    MOVED_WITHIN = "moved_within", _("Moved within the district")
    LEFT_DISTRICT = "left_district", _("Left the district")
    DECEASED = "deceased", _("Deceased")
    OTHER = "other", _("Other")


class ResidenceEndedViaChoices(models.TextChoices):
    """Who found that a registration ended, when it was not the station's desk: shown in the reader's language
    (templates/residences/_end_reason.html), never written into the note in the writer's."""

    OWNER = "owner", _("Reported by the owner")
    VISIT = "visit", _("Found gone on a visit")


# Where a person lives now: one such residence per person at most (``residence_one_current_per_person``).
CURRENT_RESIDENCE_STATUSES = (ResidenceStatusChoices.ACTIVE.value, ResidenceStatusChoices.UNCONFIRMED.value)


class LandlordQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        if scope.landlord_id:
            return Q(pk=scope.landlord_id)
        return None


@audited
class Landlord(PersonRecord):
    """A person who lets rooms or flats; may have a portal account."""

    phone = models.CharField(_("phone"), max_length=20)
    address = models.CharField(_("address"), max_length=200, blank=True,
                               validators=[VisibleTextValidator(_("address"))])
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="landlords",
                                verbose_name=_("station"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="landlord", verbose_name=_("portal account"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = LandlordQuerySet.as_manager()
    phone_required = True
    audit_personal_fields = ("name", "phone", "address")
    duplicate_message = _("Document number: a landlord with this number is already registered.")

    class Meta:
        verbose_name = _("landlord")
        verbose_name_plural = _("landlords")
        ordering = ["name_pinyin", "id"]
        constraints = [
            models.UniqueConstraint(fields=["document_type", "document_hash"], name="landlord_unique_document"),
        ]
        # A document number is also looked for among passports by its last four characters (their hash
        # includes the country): the passports alone, not every number ending the same (500 at 5M persons).
        indexes = [models.Index(fields=["document_tail_hash"], condition=Q(document_type="passport"),
                                name="landlord_passport_tail_idx")]

    def __str__(self):
        return self.name

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        return self.station_id, self.pk, None

    def clean(self):
        errors = self.clean_identity()
        if errors:
            raise ValidationError(errors)
        self.check_unique_document()


class PropertyQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        if scope.landlord_id:
            return Q(landlord_id=scope.landlord_id)
        if scope.employer_id:
            return Q(employer_id=scope.employer_id)
        return None


@audited
class Property(models.Model):
    """A building or courtyard at one address, owned by a landlord or an employer."""

    registration_number = models.CharField(_("registration number"), max_length=32, unique=True,
                                           null=True, blank=True, editable=False)
    address = models.CharField(_("address"), max_length=200, validators=[VisibleTextValidator(_("address"))])
    property_type = models.CharField(_("type"), max_length=20, choices=PropertyTypeChoices.choices)
    community = models.ForeignKey(Community, on_delete=models.PROTECT, related_name="properties",
                                  verbose_name=_("community"))
    # Copied from the community so that scoping and dashboards filter on one column.
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="properties",
                                editable=False, verbose_name=_("station"))
    landlord = models.ForeignKey(Landlord, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="properties", verbose_name=_("landlord"))
    employer = models.ForeignKey("persons.Employer", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="properties", verbose_name=_("employer"))
    agreement_signed_on = models.DateField(_("responsibility agreement signed on"), null=True, blank=True)
    # The secret in the plaque's QR code (housing/plaques.py); NULL until the first plaque is printed,
    # so bulk-created properties need no backfill. Rotating it retires every printed copy.
    plaque_token = models.CharField(max_length=64, unique=True, null=True, blank=True, editable=False)
    plaque_token_rotated_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = PropertyQuerySet.as_manager()

    class Meta:
        verbose_name = _("property")
        verbose_name_plural = _("properties")
        ordering = ["address", "id"]
        constraints = [
            models.CheckConstraint(
                name="property_single_owner",
                condition=Q(landlord__isnull=True) | Q(employer__isnull=True),
                violation_error_message=_("Owner: choose a landlord or an employer, not both."),
            ),
        ]
        indexes = [models.Index(fields=["station", "community"], name="property_station_idx"),
                   # The search box matches a station's addresses anywhere in the text: read from this
                   # index alone (a few dozen pages) rather than the station's rows (~3,500 pages at 1M).
                   models.Index(fields=["station", "address"], include=["registration_number", "id"],
                                name="property_station_address_idx")]

    def __str__(self):
        return self.address

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        return self.station_id, self.landlord_id, self.employer_id

    def clean(self):
        if self.community_id:
            self.station_id = self.community.station_id
        errors = {}
        if self.landlord_id and self.employer_id:
            errors["employer"] = _("Owner: choose a landlord or an employer, not both.")
        elif self.property_type == PropertyTypeChoices.DORMITORY and not self.employer_id:
            errors["employer"] = _("Employer: an employer dormitory needs its employer.")
        elif self.property_type in LODGING_TYPES and not self.landlord_id:
            errors["landlord"] = _("Landlord: a lodging needs its operator, recorded as its landlord.")
        elif self.property_type != PropertyTypeChoices.OWNER_OCCUPIED and not (self.landlord_id or self.employer_id):
            errors["landlord"] = _("Landlord: a rental property needs its landlord or employer.")
        if errors:
            raise ValidationError(errors)

    def save(self, *args, **kwargs):
        if self.community_id and not self.station_id:
            self.station_id = Community.objects.values_list("station_id", flat=True).get(pk=self.community_id)
        super().save(*args, **kwargs)
        if not self.registration_number:
            self.registration_number = f"{self.station_id:03d}-{self.pk:07d}"
            Property.objects.filter(pk=self.pk).update(registration_number=self.registration_number)


class UnitQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(property__station_id__in=scope.station_ids)
        if scope.landlord_id:
            return Q(property__landlord_id=scope.landlord_id)
        if scope.employer_id:
            return Q(property__employer_id=scope.employer_id)
        return None


@audited
class Unit(models.Model):
    """A room or flat in a property, with how many people it may house."""

    property = models.ForeignKey(Property, on_delete=models.CASCADE, related_name="units",
                                 verbose_name=_("property"))
    label = models.CharField(_("unit"), max_length=50, validators=[VisibleTextValidator(_("unit"))])
    capacity = models.PositiveSmallIntegerField(_("capacity"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = UnitQuerySet.as_manager()

    class Meta:
        verbose_name = _("unit")
        verbose_name_plural = _("units")
        ordering = ["property_id", "label"]
        constraints = [
            models.UniqueConstraint(
                fields=["property", "label"], name="unit_unique_label",
                violation_error_message=_("Unit: this property already has a unit with this label."),
            ),
            models.CheckConstraint(name="unit_capacity_positive", condition=Q(capacity__gte=1),
                                   violation_error_message=_("Capacity: at least 1.")),
        ]

    def __str__(self):
        return f"{self.property.address} {self.label}"

    def get_audit_station_id(self):
        return self.property.station_id

    def get_change_scope(self):
        return self.property.get_change_scope()


class ResidenceQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        current = Q(status__in=CURRENT_RESIDENCE_STATUSES)
        if scope.landlord_id:
            return current & Q(unit__property__landlord_id=scope.landlord_id)
        if scope.employer_id:
            return current & Q(unit__property__employer_id=scope.employer_id)
        return None

    def current(self):
        return self.filter(status__in=CURRENT_RESIDENCE_STATUSES)


@audited
class Residence(models.Model):
    """A person living in a unit from a date to a date: the registration itself."""

    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="residences",
                               verbose_name=_("person"))
    unit = models.ForeignKey(Unit, on_delete=models.PROTECT, related_name="residences", verbose_name=_("unit"))
    # Copied from unit.property so that scoping filters on one indexed column.
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="residences", editable=False)
    # False only when the person is registered at this residence's station, so that a station's persons
    # are "registered here, or with a residence marked here": a few thousand index entries instead of
    # every residence of the station (PersonQuerySet.scope_filter). True, the safe side, unless known.
    registered_elsewhere = models.BooleanField(default=True, db_default=True, editable=False)
    start_date = models.DateField(_("moved in"))
    end_date = models.DateField(_("moved out"), null=True, blank=True)
    reason = models.CharField(_("reason"), max_length=16, choices=ResidenceReasonChoices.choices)
    source = models.CharField(_("source"), max_length=16, choices=ResidenceSourceChoices.choices)
    status = models.CharField(_("status"), max_length=16, choices=ResidenceStatusChoices.choices,
                              default=ResidenceStatusChoices.ACTIVE)
    next_verification_due = models.DateField(_("next verification due"), null=True, blank=True)
    reported_on = models.DateField(_("reported on"), null=True, blank=True)
    end_reported_on = models.DateField(_("move-out reported on"), null=True, blank=True)
    # Blank when not asked: an owner's departure report, a visit that found the person gone, older registrations.
    end_reason = models.CharField(_("reason for moving out"), max_length=16, blank=True,
                                  choices=ResidenceEndReasonChoices.choices)
    # A move ("moved here") records where the person went rather than a sentence in the writer's language,
    # so the person page says it in the reader's (templates/residences/_end_reason.html).
    moved_to = models.ForeignKey(Unit, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                 editable=False, verbose_name=_("moved to"))
    ended_via = models.CharField(_("ended through"), max_length=8, blank=True, editable=False,
                                 choices=ResidenceEndedViaChoices.choices)
    note = models.TextField(_("note"), blank=True, validators=[VisibleTextValidator(_("note"))])
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                   related_name="+", editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = ResidenceQuerySet.as_manager()
    # Free text (corrections, moves) may name people: the trail says it changed, not what it says.
    audit_personal_fields = ("note",)

    class Meta:
        verbose_name = _("residence")
        verbose_name_plural = _("residences")
        ordering = ["-start_date", "-id"]
        constraints = [
            models.CheckConstraint(
                name="residence_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=F("start_date")),
                violation_error_message=_("Moved out: must not be before the move-in date."),
            ),
            models.CheckConstraint(
                name="residence_ended_has_end_date",
                condition=~Q(status="ended") | Q(end_date__isnull=False),
                violation_error_message=_("Moved out: an ended residence needs its move-out date."),
            ),
            models.CheckConstraint(
                name="residence_end_reason_when_ended",
                condition=Q(end_reason="") | Q(status="ended"),
                violation_error_message=_("Reason for moving out: only an ended residence has one."),
            ),
            # A person lives in one place at a time; a pending report may wait beside it.
            models.UniqueConstraint(
                fields=["person"], condition=Q(status__in=list(CURRENT_RESIDENCE_STATUSES)),
                name="residence_one_current_per_person",
                violation_error_message=_("Person: already has a current residence; end it or use “moved here”."),
            ),
        ]
        indexes = [
            models.Index(fields=["station", "status", "next_verification_due"], name="residence_due_idx"),
            models.Index(fields=["unit", "status"], name="residence_unit_status_idx"),
            models.Index(fields=["station", "person"], condition=Q(registered_elsewhere=True),
                         name="residence_elsewhere_idx"),
        ]

    def __str__(self):
        return f"{self.person} @ {self.unit}"

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        _station, landlord_id, employer_id = self.unit.property.get_change_scope()
        return self.station_id, landlord_id, employer_id

    def clean(self):
        if self.unit_id:
            self.station_id = self.unit.property.station_id

    def save(self, *args, **kwargs):
        if self.unit_id and not self.station_id:
            self.station_id = Property.objects.values_list("station_id", flat=True).get(units=self.unit_id)
        update_fields = kwargs.get("update_fields")
        if update_fields is None or "station" in update_fields or "station_id" in update_fields:
            self.registered_elsewhere = self.person_registered_station_id() != self.station_id
            if update_fields is not None:
                kwargs["update_fields"] = {*update_fields, "registered_elsewhere"}
        super().save(*args, **kwargs)

    def person_registered_station_id(self):
        if Residence.person.is_cached(self):
            return self.person.registered_station_id
        return Person.objects.filter(pk=self.person_id).values_list("registered_station_id", flat=True).first()


class ImportStatusChoices(models.TextChoices):
    UPLOADED = "uploaded", _("Uploaded, waiting to be checked")
    VALIDATING = "validating", _("Checking")
    VALIDATED = "validated", _("Checked")
    IMPORTING = "importing", _("Importing")
    DONE = "done", _("Imported")
    FAILED = "failed", _("Failed")


class ImportJobQuerySet(models.QuerySet):
    def visible_to(self, user):
        """A job is its uploader's (administrators see every job); anyone else gets a 404."""
        if not getattr(user, "is_authenticated", False):
            return self.none()
        if user.is_superuser:
            return self
        return self.filter(user=user)


class ImportJob(models.Model):
    """One uploaded file of residents: its dry run, the confirmed import and their reports."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL,
                             related_name="import_jobs", verbose_name=_("uploaded by"))
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                                verbose_name=_("station"))
    filename = models.CharField(_("file name"), max_length=255)
    # The stored copy under VAR_DIR/imports/; deleted once the job is finished.
    stored_name = models.CharField(max_length=100, editable=False)
    sha256 = models.CharField(_("SHA-256"), max_length=64, db_index=True, editable=False)
    size = models.PositiveIntegerField(_("size in bytes"), default=0)
    language = models.CharField(_("language"), max_length=16, blank=True)
    status = models.CharField(_("status"), max_length=16, choices=ImportStatusChoices.choices,
                              default=ImportStatusChoices.UPLOADED)
    total_rows = models.PositiveIntegerField(_("rows"), default=0)
    valid_rows = models.PositiveIntegerField(_("valid rows"), default=0)
    error_rows = models.PositiveIntegerField(_("rows with errors"), default=0)
    # [{"row": 7, "field": "document_number", "column": "证件号码", "message": "..."}], in the user's language.
    errors = models.JSONField(_("errors"), default=list, blank=True)
    # Numbers of every row with an error (``errors`` keeps only the first few thousand problems).
    bad_rows = models.JSONField(default=list, blank=True)
    ignored_columns = models.JSONField(default=list, blank=True)
    # What the dry run expects and what the import did: created_persons, moved_persons, new_residences, unchanged.
    expected = models.JSONField(default=dict, blank=True)
    result = models.JSONField(default=dict, blank=True)
    progress_done = models.PositiveIntegerField(default=0)
    progress_total = models.PositiveIntegerField(default=0)
    failure_reason = models.TextField(_("reason for the failure"), blank=True)
    created_at = models.DateTimeField(_("uploaded"), auto_now_add=True)
    started_at = models.DateTimeField(_("started"), null=True, blank=True)
    validated_at = models.DateTimeField(_("checked"), null=True, blank=True)
    confirmed_at = models.DateTimeField(_("confirmed"), null=True, blank=True)
    finished_at = models.DateTimeField(_("finished"), null=True, blank=True)

    objects = ImportJobQuerySet.as_manager()

    class Meta:
        verbose_name = _("import")
        verbose_name_plural = _("imports")
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="importjob_user_idx")]

    def __str__(self):
        return f"{self.filename} ({self.get_status_display()})"

    @property
    def is_busy(self) -> bool:
        """Work is queued or running: the page polls for progress."""
        return self.status in (ImportStatusChoices.UPLOADED, ImportStatusChoices.VALIDATING,
                               ImportStatusChoices.IMPORTING) or (
            self.status == ImportStatusChoices.VALIDATED and self.confirmed_at is not None)

    @property
    def can_confirm(self) -> bool:
        return self.status == ImportStatusChoices.VALIDATED and self.confirmed_at is None and self.valid_rows > 0
