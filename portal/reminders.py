"""The portal's daily reminders (registered in ``registry.notifications.daily_reminders``; see there for the
rules every digest follows): reports waiting for review, rating appeals waiting for an officer.

Reports waiting are recalled every day while they wait. A waiting appeal is announced to each officer once, in
the digest after it was made, which also says how many wait in all.
"""

import datetime

from django.conf import settings
from django.db.models import Count, DateTimeField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils.translation import ngettext

from registry.models import Notification
from registry.notifications import (
    NEVER,
    OFFICERS,
    REVIEWERS,
    latest_key,
    notify_many,
    station_key_prefix,
    station_users,
)

from .models import AppealStatusChoices, RatingAppeal, Submission


def _submissions_waiting(today: datetime.date, days: int) -> int:
    """Station staff and officers: every day, how many reports have waited more than ``days`` days."""
    # Sent on day D, a report has waited more than two days from D+3 on; the digest links to the same list.
    before = today - datetime.timedelta(days=days)
    waiting = dict(Submission.objects.waiting().submitted_before(before).order_by().values("station_id")
                   .annotate(n=Count("id")).values_list("station_id", "n"))
    if not waiting:
        return 0
    titles = {station_id: ngettext("%(count)d report waiting for review for more than %(days)d days",
                                   "%(count)d reports waiting for review for more than %(days)d days",
                                   n) % {"count": n, "days": days}
              for station_id, n in waiting.items()}
    url = f"{reverse('review:queue')}?submitted_before={before.isoformat()}"
    return notify_many([
        Notification(user_id=user_id, key=f"submissions-waiting:{station_id}:{today}", kind="submission_waiting",
                     title=titles[station_id], url=url)
        for user_id, station_id in station_users(waiting, REVIEWERS).values_list("pk", "profile__station_id")])


def _appeals_waiting(today: datetime.date) -> int:
    """Station officers: one digest of the appeals made since their previous one, linking to those waiting."""
    waiting = RatingAppeal.objects.filter(status=AppealStatusChoices.WAITING).order_by()
    totals = dict(waiting.values("property__station_id").annotate(n=Count("pk"))
                  .values_list("property__station_id", "n"))
    if not totals:
        return 0
    prefix = station_key_prefix("appeals-waiting")
    # Appeals are compared with the time of the previous digest: one made later that day is new tomorrow.
    new = (waiting.filter(property__station_id=OuterRef("profile__station_id"), created_at__gt=OuterRef("last_at"))
           .values("status").annotate(n=Count("pk")).values("n"))
    officers = (station_users(totals, OFFICERS)
                .annotate(last_at=Coalesce(
                    latest_key(prefix, "created_at"), Value(NEVER, output_field=DateTimeField())))
                .annotate(new=Subquery(new)).filter(new__gt=0).values_list("pk", "profile__station_id", "new"))
    url = reverse("review:appeal_list")
    messages = []
    for user_id, station_id, count in officers:
        total = totals[station_id]
        title = ngettext("%(count)d new rating appeal waiting for an answer",
                         "%(count)d new rating appeals waiting for an answer", count) % {"count": count}
        body = ngettext("%(count)d appeal in all is waiting for an answer.",
                        "%(count)d appeals in all are waiting for an answer.", total) % {"count": total}
        messages.append(Notification(user_id=user_id, key=f"appeals-waiting:station:{station_id}:{today}",
                                     kind="appeal_waiting", title=title, body=body, url=url))
    return notify_many(messages)


def submissions_waiting(today: datetime.date) -> int:
    return _submissions_waiting(today, settings.REGISTRY["SUBMISSION_WAIT_REMINDER_DAYS"])


def appeals_waiting(today: datetime.date) -> int:
    return _appeals_waiting(today)
