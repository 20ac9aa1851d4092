"""In-app notifications, also sent by email. Each (user, key) exists once, so nothing is sent twice."""

from django.db import IntegrityError, transaction

from .models import Notification


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
        from .tasks import notification_email

        transaction.on_commit(lambda: notification_email.delay(notification.pk))
    return notification


def notify_many(notifications: list[Notification]) -> int:
    """Create many notifications at once (unsaved instances), skipping every (user, key) that exists;
    email the new ones after commit. Returns how many were new. A few queries whatever the number."""
    from .tasks import notification_email

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
