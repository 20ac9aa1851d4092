from django.conf import settings
from django.contrib.auth.hashers import PBKDF2PasswordHasher
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _
from django_otp.models import Device, ThrottlingMixin

from .roles import STATION_ROLES, RoleChoices
from .scoping import StationScopedQuerySet, scope_for
from .validators import VisibleTextValidator


class RecoveryCodeHasher(PBKDF2PasswordHasher):
    """PBKDF2 for recovery codes: salted, like passwords, at fewer rounds (a code has 50 random bits; making
    ten at once must not take seconds)."""

    iterations = 100_000


RECOVERY_HASHER = RecoveryCodeHasher()


class District(models.Model):
    """A city district: the area a supervisor oversees."""

    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100, validators=[VisibleTextValidator(_("name"))])

    class Meta:
        ordering = ["code"]
        verbose_name = _("district")
        verbose_name_plural = _("districts")

    def __str__(self):
        return self.name


class StationQuerySet(StationScopedQuerySet):
    station_field = "pk"


class Station(models.Model):
    """A community police station (派出所) within a district."""

    district = models.ForeignKey(District, on_delete=models.PROTECT, related_name="stations",
                                 verbose_name=_("district"))
    code = models.CharField(_("code"), max_length=12, unique=True)
    name = models.CharField(_("name"), max_length=100, validators=[VisibleTextValidator(_("name"))])

    objects = StationQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("station")
        verbose_name_plural = _("stations")

    def __str__(self):
        return self.name


class Community(models.Model):
    """A community (beat) served by one station."""

    station = models.ForeignKey(Station, on_delete=models.PROTECT, related_name="communities",
                                verbose_name=_("station"))
    code = models.CharField(_("code"), max_length=16, unique=True)
    name = models.CharField(_("name"), max_length=100, validators=[VisibleTextValidator(_("name"))])

    objects = StationScopedQuerySet.as_manager()

    class Meta:
        ordering = ["code"]
        verbose_name = _("community")
        verbose_name_plural = _("communities")

    def __str__(self):
        return self.name


class Profile(models.Model):
    """A user's role and where it applies: a station, a district, or (landlords, employers) their records."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="profile")
    role = models.CharField(_("role"), max_length=16, choices=RoleChoices.choices)
    station = models.ForeignKey(Station, null=True, blank=True, on_delete=models.PROTECT,
                                related_name="profiles", verbose_name=_("station"))
    district = models.ForeignKey(District, null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="profiles", verbose_name=_("district"))

    class Meta:
        verbose_name = _("profile")
        verbose_name_plural = _("profiles")
        permissions = [("manage_landlord_accounts", "Can invite landlord and employer accounts")]
        constraints = [
            models.CheckConstraint(
                name="profile_station_roles_have_station",
                condition=~models.Q(role__in=["staff", "officer"]) | models.Q(station__isnull=False),
            ),
            models.CheckConstraint(
                name="profile_supervisor_has_district",
                condition=~models.Q(role="supervisor") | models.Q(district__isnull=False),
            ),
        ]

    def __str__(self):
        return f"{self.user} ({self.get_role_display()})"

    def district_station_ids(self) -> list[int]:
        """The stations of the district a supervisor oversees (their scope)."""
        return list(Station.objects.filter(district_id=self.district_id).values_list("id", flat=True))

    def clean(self):
        if self.role in STATION_ROLES and not self.station_id:
            raise ValidationError({"station": _("Station: staff and officers belong to a station.")})
        if self.role == RoleChoices.SUPERVISOR and not self.district_id:
            raise ValidationError({"district": _("District: a supervisor oversees a district.")})


class AuditAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")
    VIEW = "view", _("Viewed")
    UNMASK = "unmask", _("Unmasked ID number")
    EXPORT = "export", _("Exported")
    LOGIN = "login", _("Logged in")
    LOGIN_FAILED = "login_failed", _("Login failed")
    LOGOUT = "logout", _("Logged out")
    TOKEN_USE = "token_use", _("Used an API token")
    # Sign-in (docs/security.md): each with the client's address.
    LOCKED_OUT = "locked_out", _("Sign-in refused: locked out")
    OTP_VERIFIED = "otp_verified", _("Second factor verified")
    OTP_FAILED = "otp_failed", _("Second factor failed")
    DEVICE_ENROLLED = "device_enrolled", _("Second factor enrolled")
    RECOVERY_USED = "recovery_used", _("Recovery code used")
    DEVICES_RESET = "devices_reset", _("Second factor reset")
    RESET_REQUESTED = "reset_requested", _("Password reset requested")
    RESET_USED = "reset_used", _("Password reset used")
    PASSWORD_CHANGED = "password_changed", _("Password changed")
    SESSIONS_ENDED = "sessions_ended", _("Sessions ended")
    TOKEN_CREATED = "token_created", _("API token created")
    TOKEN_EXPIRED = "token_expired", _("Expired API token refused")
    TOKEN_REVOKED = "token_revoked", _("API token revoked")


class AuditEventQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise PermissionError("audit events are never edited")

    def delete(self):
        raise PermissionError("audit events are deleted only by the retention purge")

    def visible_to(self, user):
        scope = scope_for(user)
        if scope.is_global:
            return self
        if scope.station_ids is not None and user.has_perm("registry.view_auditevent"):
            return self.filter(station_id__in=scope.station_ids)
        return self.none()


class AuditEvent(models.Model):
    """One thing that happened to personal data or to a login: who, when, what. Never edited."""

    at = models.DateTimeField(_("time"), default=timezone.now, db_index=True)
    # Plain columns, not foreign keys: deleting a user or a record must not touch its history.
    actor_id = models.BigIntegerField(_("user id"), null=True, blank=True)
    actor_username = models.CharField(_("user"), max_length=150, blank=True)
    action = models.CharField(_("action"), max_length=16, choices=AuditAction.choices)
    object_type = models.CharField(_("record type"), max_length=64, blank=True)
    object_id = models.CharField(_("record id"), max_length=64, blank=True)
    station_id = models.BigIntegerField(_("station"), null=True, blank=True)
    changes = models.JSONField(_("changes"), default=dict, blank=True)
    reason = models.TextField(_("reason"), blank=True)
    ip_address = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    via = models.CharField(_("via"), max_length=16, blank=True)

    objects = AuditEventQuerySet.as_manager()

    class Meta:
        ordering = ["-at", "-id"]
        verbose_name = _("audit event")
        verbose_name_plural = _("audit events")
        indexes = [
            models.Index(fields=["object_type", "object_id", "-at"], name="audit_object_idx"),
            models.Index(fields=["station_id", "-at"], name="audit_station_idx"),
            # A user's events newest first (the audit page's user filter, a user's activity).
            models.Index(fields=["actor_id", "-at"], name="audit_actor_idx"),
            # Registrations each user ended (the dashboard's work by staff, "moves"): a sliver of the trail.
            models.Index(fields=["actor_id", "at"], name="audit_residence_ended_idx",
                         condition=Q(action="update", object_type="housing.residence", changes__status__1="ended")),
        ]

    def __str__(self):
        return f"{self.at:%Y-%m-%d %H:%M} {self.actor_username} {self.action} {self.object_type}#{self.object_id}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not self._state.adding:
            raise PermissionError("audit events are never edited")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise PermissionError("audit events are deleted only by the retention purge")


class AuditSeal(models.Model):
    """An audit event sealed into the hash chain: its place in commit order and the digest of the event with
    the digest before it (``registry/audit_chain.py``). Written once, by the sealing step."""

    position = models.BigIntegerField(unique=True)
    event_id = models.BigIntegerField(unique=True)
    digest = models.CharField(max_length=64)
    sealed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["position"]

    def __str__(self):
        return f"seal {self.position} of event {self.event_id}"


class AuditChainStart(models.Model):
    """Where the chain begins: the digest and position before the first seal kept (the retention purge moves
    it forward as it removes the oldest events and their seals). One row."""

    position = models.BigIntegerField(default=0)
    digest = models.CharField(max_length=64, default="0" * 64)

    def __str__(self):
        return f"chain from {self.position}"


class ChangeAction(models.TextChoices):
    CREATE = "create", _("Created")
    UPDATE = "update", _("Updated")
    DELETE = "delete", _("Deleted")


class ChangeLog(models.Model):
    """One create, update or delete of a registry record, for the change feed. Holds no personal data.

    ``seq`` is the feed position. It is assigned after commit by ``changes_sequence()``, so that a
    row never appears behind a cursor a reader has already passed (ids are handed out at insert
    time, in an order that can differ from commit order).
    """

    seq = models.BigIntegerField(null=True, blank=True, unique=True)
    at = models.DateTimeField(default=timezone.now)
    object_type = models.CharField(max_length=64)
    object_id = models.CharField(max_length=64)
    action = models.CharField(max_length=8, choices=ChangeAction.choices)
    version = models.PositiveIntegerField(null=True, blank=True)
    station_id = models.BigIntegerField(null=True, blank=True)
    landlord_id = models.BigIntegerField(null=True, blank=True)
    employer_id = models.BigIntegerField(null=True, blank=True)
    # A record visible to several stations (a person who lived in two) gets one row per station; the
    # copies name the first row's station so a reader who sees both stations lists the change once.
    copy_of_station_id = models.BigIntegerField(null=True, blank=True)
    is_copy = models.BooleanField(default=False)

    class Meta:
        indexes = [
            models.Index(fields=["seq"], name="changelog_unsequenced_idx", condition=models.Q(seq__isnull=True)),
            models.Index(fields=["station_id", "seq"], name="changelog_station_seq_idx"),
        ]

    def __str__(self):
        return f"{self.seq} {self.action} {self.object_type}#{self.object_id}"


class ApiToken(models.Model):
    """A personal API token; it acts with exactly its owner's scope. Only a hash is stored."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens")
    name = models.CharField(_("name"), max_length=100, validators=[VisibleTextValidator(_("name"))])
    prefix = models.CharField(_("starts with"), max_length=8, editable=False)
    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    expires_at = models.DateTimeField(_("expires"))
    # A read-only token may read what its owner may read and write nothing (403).
    read_only = models.BooleanField(_("read only"), default=False)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = _("API token")
        verbose_name_plural = _("API tokens")

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"


class RecoveryCodes(ThrottlingMixin, Device):
    """A user's one-time recovery codes, as a django-otp device: each code kept only as a salted hash.

    django-otp's own static device stores its codes in clear; a recovery code is a password that opens the
    account without the phone (ASVS 5.0 6.5.2). A code's first ``HINT`` characters (not secret) pick the
    stored hash, so a check costs one hash, not ten.
    """

    HINT = 3

    class Meta(Device.Meta):
        verbose_name = _("recovery codes")

    def get_throttle_factor(self):
        return 1

    def verify_token(self, token) -> bool:
        allowed, _reason = self.verify_is_allowed()
        if not allowed:
            return False
        token = token or ""
        code = next((code for code in self.codes.filter(hint=token[:self.HINT], used_at__isnull=True)
                     if RECOVERY_HASHER.verify(token, code.code_hash)), None)
        if code is None:
            self.throttle_increment()
            return False
        RecoveryCode.objects.filter(pk=code.pk).update(used_at=timezone.now())
        self.throttle_reset(commit=False)
        self.save()
        return True


class RecoveryCode(models.Model):
    """One recovery code: its hint and the hash of the whole code; used once."""

    device = models.ForeignKey(RecoveryCodes, on_delete=models.CASCADE, related_name="codes")
    hint = models.CharField(max_length=8)
    code_hash = models.CharField(max_length=200)
    used_at = models.DateTimeField(null=True, blank=True)

    def __str__(self):
        return self.hint


class KeyCanary(models.Model):
    """A known text encrypted and hashed under the configured keys: if they change, the product says so at
    start-up instead of failing on every person's page (``registry/keys.py``). One row."""

    ciphertext = models.TextField()
    digest = models.CharField(max_length=64)
    created_at = models.DateTimeField(default=timezone.now)

    def __str__(self):
        return f"key canary of {self.created_at:%Y-%m-%d}"


class PasswordHistory(models.Model):
    """A password a user had (its hash only), so that a new one is not one of the last few."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    password = models.CharField(max_length=128)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [models.Index(fields=["user", "-created_at"], name="password_history_user_idx")]

    def __str__(self):
        return f"{self.user_id} @ {self.created_at:%Y-%m-%d}"


class IdempotencyRecord(models.Model):
    """The response to a POST made with an Idempotency-Key, replayed if the same request is retried."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=200)
    request_hash = models.CharField(max_length=64)
    status_code = models.PositiveSmallIntegerField()
    body = models.JSONField(null=True)
    headers = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="idempotency_unique_key")]

    def __str__(self):
        return self.key


class Notification(models.Model):
    """An in-app message to one user (also emailed); ``key`` makes sending it twice impossible."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="notifications")
    key = models.CharField(max_length=120, help_text="What this is about, e.g. verify:property:42:2026-11-21")
    kind = models.CharField(_("kind"), max_length=32)
    title = models.CharField(_("title"), max_length=200)
    body = models.TextField(_("message"), blank=True)
    url = models.CharField(max_length=300, blank=True)
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    read_at = models.DateTimeField(_("read"), null=True, blank=True)
    emailed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name = _("notification")
        verbose_name_plural = _("notifications")
        constraints = [models.UniqueConstraint(fields=["user", "key"], name="notification_once_per_key")]
        indexes = [models.Index(fields=["user", "read_at"], name="notification_unread_idx")]

    def __str__(self):
        return self.title


class TaskRun(models.Model):
    """One run of a periodic task: when, how long, what it did; shown to administrators."""

    task = models.CharField(max_length=100, db_index=True)
    started_at = models.DateTimeField()
    finished_at = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, default="running")
    rows_changed = models.PositiveIntegerField(default=0)
    result = models.TextField(blank=True)

    class Meta:
        ordering = ["-started_at"]

    def __str__(self):
        return f"{self.task} {self.started_at:%Y-%m-%d %H:%M} {self.status}"

    @property
    def duration(self):
        return (self.finished_at - self.started_at) if self.finished_at else None
