import functools

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy
from pypinyin import Style, lazy_pinyin

from registry.audit import audited
from registry.crypto import EncryptedCharField, document_digest, mask
from registry.models import Station
from registry.scoping import ScopedQuerySet
from registry.validators import VisibleTextValidator

from .choices import DocumentTypeChoices, SexChoices
from .validators import (
    document_birth_date,
    document_sex,
    normalize_document_number,
    normalize_name,
    normalize_phone,
    validate_country_code,
    validate_document,
    validate_person_name,
    validate_uscc,
)


@functools.lru_cache(maxsize=100_000)
def name_pinyin(name: str) -> tuple[str, str]:
    """Full pinyin and initials of a name, lower-case ASCII, for forgiving search. Cached: names repeat (an
    import of 100,000 residents has far fewer distinct names), and converting one costs ~30 µs."""
    syllables = [s.lower() for s in lazy_pinyin(name, style=Style.NORMAL, errors="ignore") if s.strip()]
    syllables = ["".join(ch for ch in s if ch.isascii() and ch.isalnum()) for s in syllables]
    syllables = [s for s in syllables if s]
    return "".join(syllables), "".join(s[0] for s in syllables)


class IdentityDocument(models.Model):
    """An identity document: type, issuing country for passports, and the number kept encrypted."""

    document_type = models.CharField(_("document type"), max_length=24, choices=DocumentTypeChoices.choices,
                                     default=DocumentTypeChoices.RESIDENT_ID)
    document_country = models.CharField(_("issuing country"), max_length=3, blank=True,
                                        help_text=_("Passports only: three-letter country code."))
    document_number = EncryptedCharField(_("document number"))
    document_hash = models.CharField(max_length=64, editable=False, db_index=True)
    # Keyed hashes of the visible parts (first 6, last 4) for partial search. Stored in clear, those
    # parts plus the birth date would rebuild a resident ID number, so the mask is computed on read.
    document_head_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)
    document_tail_hash = models.CharField(max_length=64, editable=False, blank=True, db_index=True)

    class Meta:
        abstract = True

    @staticmethod
    def document_key(document_type: str, number: str, country: str = "") -> str:
        return document_digest(document_type, f"{country}:{number}" if country else number)

    def clean_document(self) -> dict:
        """Normalise and check the document fields; returns field errors (empty when valid)."""
        errors = {}
        try:
            self.document_number = validate_document(self.document_type, self.document_number or "")
        except ValidationError as exc:
            field = "document_type" if exc.code == "invalid_choice" else "document_number"
            errors[field] = exc.messages
        if self.document_type == DocumentTypeChoices.PASSPORT:
            try:
                self.document_country = validate_country_code(self.document_country)
            except ValidationError as exc:
                errors["document_country"] = exc.messages
        else:
            self.document_country = ""
        return errors

    @property
    def document_masked(self) -> str:
        return mask(self.document_number or "")

    @staticmethod
    def part_key(part: str, text: str) -> str:
        return document_digest(f"part:{part}", text)

    def sync_document_columns(self):
        if self.document_number:
            self.document_hash = self.document_key(self.document_type, self.document_number, self.document_country)
            self.document_head_hash = self.part_key("head", self.document_number[:6])
            self.document_tail_hash = self.part_key("tail", self.document_number[-4:])


class NamedMixin(models.Model):
    """A person's name with its pinyin kept beside it for search."""

    name = models.CharField(pgettext_lazy("of a person", "name"), max_length=100)
    name_pinyin = models.CharField(max_length=400, editable=False, blank=True)
    name_initials = models.CharField(max_length=100, editable=False, blank=True)

    class Meta:
        abstract = True

    def sync_name_columns(self):
        self.name_pinyin, self.name_initials = name_pinyin(self.name or "")


class PersonRecord(IdentityDocument, NamedMixin):
    """What persons and landlords share: a document, a name and a phone, validated the same way."""

    phone_required = False
    duplicate_message = _("Document number: a record with this number is already registered.")
    # Recorded in the audit trail as "set" / "changed", never in clear (registry/audit.py).
    audit_personal_fields = ("name", "phone")

    class Meta:
        abstract = True

    def clean_identity(self) -> dict:
        """Normalise and check document, name and phone; returns field errors (empty when valid)."""
        errors = self.clean_document()
        try:
            self.name = validate_person_name(self.name)
        except ValidationError as exc:
            errors["name"] = exc.messages
        if self.phone or self.phone_required:
            try:
                self.phone = normalize_phone(self.phone)
            except ValidationError as exc:
                errors["phone"] = exc.messages
        return errors

    def normalise_checked(self):
        """What ``clean_identity`` normalises, for values it has already accepted (an import's rows, which its
        dry run checked and the import re-reads from the same bytes): the rules are not run again."""
        self.document_number = normalize_document_number(self.document_number or "")
        if self.document_type == DocumentTypeChoices.PASSPORT:
            self.document_country = (self.document_country or "").strip().upper()
        else:
            self.document_country = ""
        self.name = normalize_name(self.name)
        if self.phone:
            self.phone = normalize_phone(self.phone)

    def check_unique_document(self):
        self.sync_document_columns()
        clash = type(self)._default_manager.filter(document_type=self.document_type, document_hash=self.document_hash)
        if clash.exclude(pk=self.pk).exists():
            raise ValidationError({"document_number": self.duplicate_message}, code="unique")

    def validate_constraints(self, exclude=None):
        # The hash constraint is checked by check_unique_document() with a message naming the visible field.
        super().validate_constraints(exclude=set(exclude or ()) | {"document_hash"})

    def save(self, *args, **kwargs):
        kwargs["update_fields"] = sync_derived_columns(self, kwargs.get("update_fields"))
        super().save(*args, **kwargs)


def sync_derived_columns(instance, update_fields):
    """Refresh hash, mask and pinyin; widen ``update_fields`` so they are written with their source."""
    instance.sync_document_columns()
    instance.sync_name_columns()
    if update_fields is None:
        return None
    extra = set()
    if {"document_number", "document_type", "document_country"} & set(update_fields):
        extra |= {"document_number", "document_hash", "document_head_hash", "document_tail_hash"}
    if "name" in update_fields:
        extra |= {"name_pinyin", "name_initials"}
    return set(update_fields) | extra


class PersonQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        # Where a person lives, or lived, adds to this: ``housing`` registers that condition (scope_conditions).
        if scope.station_ids is not None:
            return Q(registered_station_id__in=scope.station_ids)
        if scope.employer_id:
            employed = Employment.objects.filter(person=OuterRef("pk"), employer_id=scope.employer_id,
                                                 end_date__isnull=True)
            return Q(Exists(employed))
        return None

    def by_document(self, document_type: str, number: str, country: str = ""):
        return self.filter(document_type=document_type,
                           document_hash=IdentityDocument.document_key(document_type, number, country))


@audited
class Person(PersonRecord):
    """A person the registry knows: identity, contact and origin; where they live is a Residence."""

    sex = models.CharField(_("sex"), max_length=1, choices=SexChoices.choices)
    birth_date = models.DateField(_("date of birth"))
    phone = models.CharField(_("phone"), max_length=20, blank=True)
    hukou_address = models.CharField(_("place of household registration"), max_length=200, blank=True,
                                     validators=[VisibleTextValidator(_("place of household registration"))])
    occupation = models.CharField(_("occupation"), max_length=100, blank=True,
                                  validators=[VisibleTextValidator(_("occupation"))])
    registered_station = models.ForeignKey(Station, on_delete=models.PROTECT, null=True, blank=True,
                                           related_name="+", verbose_name=_("registered at"))
    anonymised_at = models.DateTimeField(_("anonymised at"), null=True, blank=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    # The hashes without ``db_index``: every import row pays for each index, and ``db_index`` on a CharField
    # adds a ``varchar_pattern_ops`` twin on PostgreSQL that no query uses. The unique constraint leads with
    # the hash, so lookups by hash alone (known persons, portal reviews, search) use it; the parts have one
    # index each (search by the first six or last four characters).
    document_hash = models.CharField(max_length=64, editable=False)
    document_head_hash = models.CharField(max_length=64, editable=False, blank=True)
    document_tail_hash = models.CharField(max_length=64, editable=False, blank=True)

    objects = PersonQuerySet.as_manager()
    duplicate_message = _("Document number: a person with this number is already registered.")
    audit_personal_fields = ("name", "phone", "birth_date", "hukou_address", "occupation")

    class Meta:
        verbose_name = _("person")
        verbose_name_plural = _("persons")
        ordering = ["name_pinyin", "id"]
        permissions = [
            ("unmask_document", "Can see full identity document numbers, with a reason"),
            ("view_access_log", "Can see who viewed a person's record"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["document_hash", "document_type"], name="person_unique_document"),
        ]
        indexes = [
            models.Index(fields=["document_head_hash"], name="person_document_head_idx"),
            models.Index(fields=["document_tail_hash"], name="person_document_tail_idx"),
            models.Index(fields=["name"], name="person_name_idx"),
            models.Index(fields=["name_initials"], name="person_initials_idx"),
            models.Index(fields=["name_pinyin"], name="person_pinyin_idx"),
            models.Index(fields=["phone"], name="person_phone_idx"),
            # persons.selectors.document_condition: passports by the last four characters, passports alone.
            models.Index(fields=["document_tail_hash"], condition=Q(document_type="passport"),
                         name="person_passport_tail_idx"),
        ]

    def __str__(self):
        return self.name

    def get_audit_station_id(self):
        return self.registered_station_id

    # The change feed files a person under the station they live at now and copies it to every station that can
    # read them: ``housing`` knows where they live and registers that (registry.changes.change_scopes).

    def clean(self):
        self.clean_values()
        self.check_unique_document()

    def clean_values(self):
        """Every rule about the person's own fields (no database query): document, name, phone, and a
        birth date and sex that agree with the ID number. Bulk registration checks uniqueness at once."""
        errors = self.clean_identity()
        if "document_number" not in errors and self.document_number:
            born = document_birth_date(self.document_type, self.document_number)
            if born and self.birth_date and self.birth_date != born:
                errors["birth_date"] = [
                    _("Date of birth: does not agree with the ID number, which says %(date)s.")
                    % {"date": born.isoformat()}
                ]
            sex = document_sex(self.document_type, self.document_number)
            if sex and self.sex and self.sex != sex:
                errors["sex"] = [
                    _("Sex: does not agree with the ID number, which says %(sex)s.")
                    % {"sex": SexChoices(sex).label}
                ]
        if errors:
            raise ValidationError(errors)


class EmployerQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(station_id__in=scope.station_ids)
        if scope.employer_id:
            return Q(pk=scope.employer_id)
        return None


@audited
class Employer(models.Model):
    """An organisation that employs people and may house them in dormitories."""

    name = models.CharField(_("name"), max_length=200, validators=[VisibleTextValidator(_("name"))])
    uscc = models.CharField(_("unified social credit code"), max_length=18, unique=True)
    address = models.CharField(_("address"), max_length=200, blank=True,
                               validators=[VisibleTextValidator(_("address"))])
    contact_name = models.CharField(_("contact person"), max_length=100, blank=True)
    contact_phone = models.CharField(_("contact phone"), max_length=20, blank=True)
    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="employers",
                                verbose_name=_("station"))
    user = models.OneToOneField(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="employer", verbose_name=_("portal account"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)
    version = models.PositiveIntegerField(default=1, editable=False)

    objects = EmployerQuerySet.as_manager()
    audit_personal_fields = ("contact_name", "contact_phone")

    class Meta:
        verbose_name = _("employer")
        verbose_name_plural = _("employers")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def get_audit_station_id(self):
        return self.station_id

    def get_change_scope(self):
        return self.station_id, None, self.pk

    def clean(self):
        errors = {}
        try:
            self.uscc = validate_uscc(self.uscc or "")
        except ValidationError as exc:
            errors["uscc"] = exc.messages
        if self.contact_name:
            try:
                self.contact_name = validate_person_name(self.contact_name)
            except ValidationError as exc:
                errors["contact_name"] = exc.messages
        if self.contact_phone:
            try:
                self.contact_phone = normalize_phone(self.contact_phone)
            except ValidationError as exc:
                errors["contact_phone"] = exc.messages
        if errors:
            raise ValidationError(errors)


class EmploymentQuerySet(ScopedQuerySet):
    def scope_filter(self, scope):
        if scope.station_ids is not None:
            return Q(employer__station_id__in=scope.station_ids)
        if scope.employer_id:
            return Q(employer_id=scope.employer_id)
        return None


@audited
class Employment(models.Model):
    """A person working for an employer from a date, until a date."""

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="employments",
                               verbose_name=_("person"))
    employer = models.ForeignKey(Employer, on_delete=models.PROTECT, related_name="employments",
                                 verbose_name=_("employer"))
    job_title = models.CharField(_("job title"), max_length=100, blank=True,
                                 validators=[VisibleTextValidator(_("job title"))])
    start_date = models.DateField(_("start date"))
    end_date = models.DateField(_("end date"), null=True, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    objects = EmploymentQuerySet.as_manager()

    class Meta:
        verbose_name = _("employment")
        verbose_name_plural = _("employments")
        ordering = ["-start_date"]
        constraints = [
            models.CheckConstraint(
                name="employment_end_after_start",
                condition=Q(end_date__isnull=True) | Q(end_date__gte=models.F("start_date")),
                violation_error_message=_("End date: must not be before the start date."),
            ),
        ]

    def __str__(self):
        return f"{self.person} @ {self.employer}"

    def get_audit_station_id(self):
        return self.employer.station_id if self.employer_id else None

    def get_change_scope(self):
        return self.get_audit_station_id(), None, self.employer_id


class SearchEntry(models.Model):
    """A person's name keys, once for each station that may see the person: their station of registration,
    and each station where a residence of theirs was registered elsewhere (``housing``).

    These are the station-scoped rows of ``Person.objects.visible_to`` for a station's staff, kept beside the
    name, pinyin and initials, so that a station's name search reads an index of its own entries, in the
    order it shows them, instead of every match in the city (``persons.selectors``). Database triggers keep
    it: the person's (migration 0010) and housing's for residences (housing 0015), whatever writes the rows
    (forms, imports, bulk loads, anonymisation). Never written by the application.
    """

    station = models.ForeignKey(Station, on_delete=models.CASCADE, related_name="+", db_index=False)
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="search_entries", db_index=False)
    # Copies written by the triggers, never typed: not editable (no form or serializer offers them).
    name = models.CharField(max_length=100, editable=False)
    name_pinyin = models.CharField(max_length=400, blank=True, editable=False)
    name_initials = models.CharField(max_length=100, blank=True, editable=False)

    class Meta:
        default_permissions = ()
        constraints = [
            models.UniqueConstraint(fields=["station", "person"], name="search_entry_station_person"),
        ]
        indexes = [
            models.Index(fields=["person"], name="search_entry_person_idx"),
        ]

    def __str__(self):
        return f"{self.station_id}:{self.person_id}"


__all__ = ["Person", "Employer", "Employment", "IdentityDocument", "NamedMixin", "SearchEntry", "normalize_name"]
