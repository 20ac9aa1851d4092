from functools import cache

from .models import Notification
from .scoping import scope_for


def scope(request):
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    return {"user_scope": scope_for(user)}


def notifications(request):
    """``unread_notifications`` for the navbar bell: one COUNT, run only when a page shows the bell."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}

    @cache
    def unread_notifications() -> int:
        return Notification.objects.filter(user=user, read_at__isnull=True).count()

    return {"unread_notifications": unread_notifications}
