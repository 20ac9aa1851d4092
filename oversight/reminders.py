"""The supervisors' daily digest of access flags waiting for their review (``daily_reminders``)."""

import datetime

from django.contrib.auth import get_user_model
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import ngettext

from registry.models import Notification
from registry.notifications import notify_many

from .models import AccessFlag, FlagStatusChoices


def access_flags_waiting(today: datetime.date) -> int:
    waiting = dict(AccessFlag.objects.filter(status=FlagStatusChoices.OPEN, station__isnull=False).order_by()
                   .values("station__district_id").annotate(n=Count("pk")).values_list("station__district_id", "n"))
    if not waiting:
        return 0
    supervisors = (get_user_model().objects.filter(profile__role="supervisor", is_active=True,
                                                   profile__district_id__in=list(waiting))
                   .values_list("pk", "profile__district_id"))
    url = f"{reverse('oversight:flags')}?status=open"
    return notify_many([
        Notification(user_id=user_id, key=f"access-flags:district:{district_id}:{today}", kind="access_flags",
                     title=ngettext("%(count)d access flag waiting for your review",
                                    "%(count)d access flags waiting for your review",
                                    waiting[district_id]) % {"count": waiting[district_id]}, url=url)
        for user_id, district_id in supervisors])



