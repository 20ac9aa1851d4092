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
