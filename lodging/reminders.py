"""The lodging's daily digest (``registry.notifications.daily_reminders``): guests still in after
``LODGING_LONG_STAY_DAYS``, for the station to register a residence. Recalled every day while they stay."""

import datetime

from django.conf import settings
from django.db.models import Count
from django.urls import reverse
from django.utils.translation import ngettext

from registry.models import Notification
from registry.notifications import REVIEWERS, notify_many, station_users

from .models import Stay


def long_stays(today: datetime.date) -> int:
    long = dict(Stay.objects.long().order_by().values("station_id").annotate(n=Count("pk"))
                .values_list("station_id", "n"))
    if not long:
        return 0
    days = settings.REGISTRY["LODGING_LONG_STAY_DAYS"]
    titles = {station_id: ngettext("%(count)d lodging guest has stayed more than %(days)d days: register a residence",
                                   "%(count)d lodging guests have stayed more than %(days)d days: register residences",
                                   n) % {"count": n, "days": days}
              for station_id, n in long.items()}
    url = f"{reverse('lodging:ledger')}?status=long"
    return notify_many([
        Notification(user_id=user_id, key=f"long-stays:{station_id}:{today}", kind="long_stays",
                     title=titles[station_id], url=url)
        for user_id, station_id in station_users(long, REVIEWERS).values_list("pk", "profile__station_id")])
