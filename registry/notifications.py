"""In-app notifications, also sent by email. Each (user, key) exists once, so nothing is sent twice.

Daily reminders (PRODUCT.md "Rules"): each app registers its digests in ``daily_reminders`` (in its
``AppConfig.ready``); ``reminders_send`` runs them all. Each kind is set-based, like the re-verification
sweep: a fixed number of queries whatever the number of items, and each recipient gets at most one digest
of each kind a day, keyed ``<kind>:station:<id>:<date>`` or ``<kind>:user:<id>:<date>``; ``notify_many``
skips keys that exist, so a second run the same day, or a redelivered task, sends nothing twice. Emails carry
no names or document numbers: the link leads to the page, where access is checked and audited.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import CharField, OuterRef, Subquery, Value
from django.db.models.functions import Cast, Concat
from django.utils import timezone, translation

from .extensions import ExtensionPoint
from .models import Notification
from .tasks import notification_email

# kind -> ``function(today) -> int``: a daily digest (how many were new). Run in ``order``; the task's result
# lists each kind's count.
daily_reminders = ExtensionPoint("daily reminders")


def reminders_send(*, today: datetime.date | None = None) -> dict:
    """Send every reminder that is due today; returns how many digests of each kind were new."""
    today = today or timezone.localdate()
    with translation.override(settings.LANGUAGE_CODE):
        return {kind: send(today) for kind, send in daily_reminders.entries()}


def notify(*, user, key: str, kind: str, title: str, body: str = "", url: str = "") -> Notification | None:
    """Create the notification unless it already exists; email it after commit. Returns it if new."""
    try:
        with transaction.atomic():
            notification, created = Notification.objects.get_or_create(
                user=user, key=key[:120], defaults={"kind": kind, "title": str(title)[:200], "body": str(body),
                                                    "url": url})
    except IntegrityError:  # a concurrent sweep created it between our read and our insert
        return None
    if not created:
        return None
    if user.email:
        transaction.on_commit(lambda: notification_email.delay(notification.pk))
    return notification


def notify_many(notifications: list[Notification]) -> int:
    """Create many notifications at once (unsaved instances), skipping every (user, key) that exists;
    email the new ones after commit. Returns how many were new. A few queries whatever the number."""
    if not notifications:
        return 0
    for notification in notifications:
        notification.key = notification.key[:120]
        notification.title = str(notification.title)[:200]
    keys = {notification.key for notification in notifications}
    # Users and keys both: the unique index is (user, key), so it can answer only with the users given.
    users = sorted({notification.user_id for notification in notifications})
    existing = set()
    for chunk in _chunks(sorted(keys), 2000):
        existing.update(Notification.objects.filter(user_id__in=users, key__in=chunk).values_list("user_id", "key"))
    new = {(n.user_id, n.key): n for n in notifications if (n.user_id, n.key) not in existing}
    # ignore_conflicts: a concurrent run that inserted the same (user, key) meanwhile wins, quietly.
    Notification.objects.bulk_create(new.values(), batch_size=2000, ignore_conflicts=True)
    new_keys = sorted({key for _user, key in new})
    to_email = []
    for chunk in _chunks(new_keys, 2000):
        to_email += Notification.objects.filter(
            user_id__in=sorted({user for user, _key in new}), key__in=chunk, emailed_at__isnull=True,
        ).exclude(user__email="").values_list("pk", flat=True)
    if to_email:
        transaction.on_commit(lambda: [notification_email.delay(pk) for pk in to_email])
    return len(new)


def _chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start:start + size]


# --- what digests share ------------------------------------------------------------------------

REVIEWERS = ("staff", "officer")  # roles told of reports waiting
OFFICERS = ("officer",)
NEVER = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def station_users(station_ids, roles: tuple[str, ...]):
    return get_user_model().objects.filter(profile__station_id__in=list(station_ids), profile__role__in=roles,
                                           is_active=True)


def station_key_prefix(kind: str):
    """``<kind>:station:<the outer user's station>:``, for a subquery per recipient."""
    return Concat(Value(f"{kind}:station:"), Cast(OuterRef("profile__station_id"), CharField()), Value(":"))


def latest_key(prefix, field: str = "key") -> Subquery:
    """The key (or another field) of the outer user's latest digest whose key starts with ``prefix``;
    keys end in an ISO date, so the greatest is the latest."""
    return Subquery(Notification.objects.filter(user=OuterRef("pk"), key__startswith=prefix)
                    .order_by("-key").values(field)[:1])


def key_date(key: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(key.rsplit(":", 1)[1]) if key else None
