"""Daily reminders (PRODUCT.md "Rules", issue 5): reports waiting for review, owners late with a
confirmation, residence permits about to expire, rating appeals waiting for an officer.

Set-based, like the re-verification sweep (``patrol.services.verification_sweep``): each kind costs
a fixed number of queries whatever the number of items, and each recipient gets at most one digest
of each kind a day, keyed ``<kind>:station:<id>:<date>`` or ``<kind>:user:<id>:<date>``;
``registry.notifications.notify_many`` skips keys that exist, so a second run the same day, or a
redelivered task, sends nothing twice. Reports waiting are recalled every day while they wait. A late
confirmation, an expiring permit or a waiting appeal is announced to each recipient once: a digest
counts the items that became due since that recipient's previous digest of its kind, says how many
wait in all, and links to the list of them. Emails carry no names or document numbers: the link
leads to the page, where access is checked and audited.
"""

import datetime
from collections import defaultdict

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Case, CharField, Count, DateTimeField, F, Min, OuterRef, Subquery, Value, When
from django.db.models.functions import Cast, Coalesce, Concat
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registry.models import Notification
from registry.notifications import notify_many

from .models import ResidencePermit, VerificationRequest, VerificationRequestKind

REVIEWERS = ("staff", "officer")
OFFICERS = ("officer",)
NEVER = datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)


def _station_users(station_ids, roles: tuple[str, ...]):
    return get_user_model().objects.filter(profile__station_id__in=list(station_ids), profile__role__in=roles,
                                           is_active=True)


def _station_key_prefix(kind: str):
    """``<kind>:station:<the outer user's station>:``, for a subquery per recipient."""
    return Concat(Value(f"{kind}:station:"), Cast(OuterRef("profile__station_id"), CharField()), Value(":"))


def _latest_key(prefix, field: str = "key") -> Subquery:
    """The key (or another field) of the outer user's latest digest whose key starts with ``prefix``;
    keys end in an ISO date, so the greatest is the latest."""
    return Subquery(Notification.objects.filter(user=OuterRef("pk"), key__startswith=prefix)
                    .order_by("-key").values(field)[:1])


def _key_date(key: str | None) -> datetime.date | None:
    return datetime.date.fromisoformat(key.rsplit(":", 1)[1]) if key else None


def _submissions_waiting(today: datetime.date, days: int) -> int:
    """Station staff and officers: every day, how many reports have waited more than ``days`` days."""
    from portal.models import Submission

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
        for user_id, station_id in _station_users(waiting, REVIEWERS).values_list("pk", "profile__station_id")])


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
              .annotate(last=_latest_key("confirm-late:user:")).values_list("pk", "last"))
    messages = []
    for user_id, last_key in owners:
        rows, last = by_owner[user_id], _key_date(last_key)
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
    prefix = _station_key_prefix("permits-expiring")
    officers = (_station_users(by_station, OFFICERS)
                .annotate(last=_latest_key(prefix), last_at=_latest_key(prefix, "created_at"))
                .values_list("pk", "profile__station_id", "last", "last_at"))
    url = f"{reverse('patrol:permit_list')}?tab=issued&status=expiring"
    messages = []
    for user_id, station_id, last_key, last_at in officers:
        rows, last = by_station[station_id], _key_date(last_key)
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


def _appeals_waiting(today: datetime.date) -> int:
    """Station officers: one digest of the appeals made since their previous one, linking to those waiting."""
    from portal.models import AppealStatusChoices, RatingAppeal

    waiting = RatingAppeal.objects.filter(status=AppealStatusChoices.WAITING).order_by()
    totals = dict(waiting.values("property__station_id").annotate(n=Count("pk"))
                  .values_list("property__station_id", "n"))
    if not totals:
        return 0
    prefix = _station_key_prefix("appeals-waiting")
    # Appeals are compared with the time of the previous digest: one made later that day is new tomorrow.
    new = (waiting.filter(property__station_id=OuterRef("profile__station_id"), created_at__gt=OuterRef("last_at"))
           .values("status").annotate(n=Count("pk")).values("n"))
    officers = (_station_users(totals, OFFICERS)
                .annotate(last_at=Coalesce(
                    _latest_key(prefix, "created_at"), Value(NEVER, output_field=DateTimeField())))
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


def reminders_send(*, today: datetime.date | None = None) -> dict:
    """Send every reminder that is due today; returns how many digests of each kind were new."""
    today = today or timezone.localdate()
    rules = settings.REGISTRY
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "submissions_waiting": _submissions_waiting(today, rules["SUBMISSION_WAIT_REMINDER_DAYS"]),
            "confirmations_late": _confirmations_late(today, rules["REMINDER_ANSWER_DAYS"]),
            "permits_expiring": _permits_expiring(today, rules["PERMIT_REMINDER_DAYS"]),
            "appeals_waiting": _appeals_waiting(today),
        }
