"""Patrol's daily reminders (registered in ``registry.notifications.daily_reminders``; see there for the
rules every digest follows): owners late with a confirmation, residence permits about to expire.

A late confirmation or an expiring permit is announced to each recipient once: a digest counts the items that
became due since that recipient's previous digest of its kind, says how many wait in all, and links to the
list of them.
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, Count, F, Min, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registry.models import Notification
from registry.notifications import OFFICERS, key_date, latest_key, notify_many, station_key_prefix, station_users

from .models import ResidencePermit, VerificationRequest, VerificationRequestKind


def _confirmations_late(today: datetime.date, days: int) -> int:
    """Owners: one digest of the confirmations that became late since their previous one."""
    late = (VerificationRequest.objects.filter(kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                               closed_on__isnull=True,
                                               opened_on__lt=today - datetime.timedelta(days=days))
            .annotate(owner_user=Coalesce(F("property__landlord__user_id"), F("property__employer__user_id")))
            .filter(owner_user__isnull=False).order_by()
            .values("owner_user", "opened_on")
            .annotate(n=Count("pk"), first_property=Min("property_id"), first_address=Min("property__address")))
    by_owner = defaultdict(list)
    for row in late:
        by_owner[row["owner_user"]].append(row)
    if not by_owner:
        return 0
    owners = (get_user_model().objects.filter(pk__in=list(by_owner), is_active=True)
              .annotate(last=latest_key("confirm-late:user:")).values_list("pk", "last"))
    messages = []
    for user_id, last_key in owners:
        rows, last = by_owner[user_id], key_date(last_key)
        # Asked on day D, a request is late from D + days + 1 on; the previous digest told of those late by then.
        new = [r for r in rows if last is None or r["opened_on"] + datetime.timedelta(days=days + 1) > last]
        count, total = sum(r["n"] for r in new), sum(r["n"] for r in rows)
        if not count:
            continue
        if count == 1:
            title = _("Reminder: please confirm who lives at %(address)s (asked on %(date)s)") % {
                "address": new[0]["first_address"], "date": new[0]["opened_on"].isoformat()}
        else:
            title = ngettext("Reminder: please confirm who lives at %(count)d property (asked more than %(days)d "
                             "days ago)",
                             "Reminder: please confirm who lives at %(count)d properties (asked more than %(days)d "
                             "days ago)", count) % {"count": count, "days": days}
        body = _("Unanswered requests lower the property's rating.")
        if total > count:
            body += " " + ngettext("%(count)d request in all is waiting for your answer.",
                                   "%(count)d requests in all are waiting for your answer.", total) % {"count": total}
        url = (reverse("portal:occupants_confirm", args=[rows[0]["first_property"]]) if total == 1
               else reverse("portal:home"))
        messages.append(Notification(user_id=user_id, key=f"confirm-late:user:{user_id}:{today}",
                                     kind="confirmation_late", title=title, body=body, url=url))
    return notify_many(messages)


def _permits_expiring(today: datetime.date, days: int) -> int:
    """Station officers: one digest of the permits that came within ``days`` days of expiry since their
    previous one, or were entered since already that close; it links to the list of all expiring."""
    until = today + datetime.timedelta(days=days)
    # Permits entered in the window's span are told apart by the time they were entered (a paper permit
    # typed in after the day's digest is new tomorrow); the others group by day of expiry.
    recent_since = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=days + 1),
                                                                 datetime.time.min))
    rows = (ResidencePermit.objects.filter(expires_on__gte=today, expires_on__lte=until).order_by()
            .values("station_id", "expires_on",
                    entered_at=Case(When(created_at__gte=recent_since, then=F("created_at")), default=None))
            .annotate(n=Count("pk"), first_number=Min("number")))
    by_station = defaultdict(list)
    for row in rows:
        by_station[row["station_id"]].append(row)
    if not by_station:
        return 0
    prefix = station_key_prefix("permits-expiring")
    officers = (station_users(by_station, OFFICERS)
                .annotate(last=latest_key(prefix), last_at=latest_key(prefix, "created_at"))
                .values_list("pk", "profile__station_id", "last", "last_at"))
    url = f"{reverse('patrol:permit_list')}?tab=issued&status=expiring"
    messages = []
    for user_id, station_id, last_key, last_at in officers:
        rows, last = by_station[station_id], key_date(last_key)
        new = [r for r in rows if last is None or r["expires_on"] - datetime.timedelta(days=days) > last
               or (r["entered_at"] is not None and r["entered_at"] > last_at)]
        count, total = sum(r["n"] for r in new), sum(r["n"] for r in rows)
        if not count:
            continue
        if count == 1:
            title = _("Residence permit %(number)s expires on %(date)s: endorse or renew it") % {
                "number": new[0]["first_number"], "date": new[0]["expires_on"].isoformat()}
        else:
            title = ngettext("%(count)d residence permit now expires within %(days)d days: endorse or renew it",
                             "%(count)d residence permits now expire within %(days)d days: endorse or renew them",
                             count) % {"count": count, "days": days}
        body = ngettext("%(count)d permit issued by the station expires by %(date)s in all.",
                        "%(count)d permits issued by the station expire by %(date)s in all.",
                        total) % {"count": total, "date": until.isoformat()}
        messages.append(Notification(user_id=user_id, key=f"permits-expiring:station:{station_id}:{today}",
                                     kind="permit_expiring", title=title, body=body, url=url))
    return notify_many(messages)


def confirmations_late(today: datetime.date) -> int:
    return _confirmations_late(today, settings.REGISTRY["REMINDER_ANSWER_DAYS"])


def permits_expiring(today: datetime.date) -> int:
    return _permits_expiring(today, settings.REGISTRY["PERMIT_REMINDER_DAYS"])
