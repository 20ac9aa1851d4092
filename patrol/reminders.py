"""Daily reminders (PRODUCT.md "Rules", issue 5): reports waiting for review, owners late with a
confirmation, residence permits about to expire, rating appeals waiting for an officer.

Each reminder is a notification with a unique key (see ``registry.notifications.notify``), so a
second run on the same day, or a redelivered task, sends nothing twice. Emails carry no names or
document numbers: the link leads to the page, where access is checked and audited.
"""

import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db.models import Count
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from registry.notifications import notify

from .models import ResidencePermit, VerificationRequest, VerificationRequestKind


def _station_users(station_id: int, roles: tuple[str, ...]):
    return get_user_model().objects.filter(profile__station_id=station_id, profile__role__in=roles, is_active=True)


def _submissions_waiting(today: datetime.date, days: int) -> int:
    from portal.models import Submission

    # Sent on day D, a report has waited more than two days from D+3 on.
    cutoff = timezone.make_aware(datetime.datetime.combine(today - datetime.timedelta(days=days), datetime.time.min))
    stations = (Submission.objects.waiting().filter(created_at__lt=cutoff).values("station_id")
                .annotate(n=Count("id")).order_by("station_id"))
    sent = 0
    for row in stations:
        title = ngettext("%(count)d report waiting for review for more than %(days)d days",
                         "%(count)d reports waiting for review for more than %(days)d days",
                         row["n"]) % {"count": row["n"], "days": days}
        for user in _station_users(row["station_id"], ("staff", "officer")):
            if notify(user=user, key=f"submissions-waiting:{row['station_id']}:{today}", kind="submission_waiting",
                      title=title, url=reverse("review:queue")):
                sent += 1
    return sent


def _confirmations_late(today: datetime.date, days: int) -> int:
    late = (VerificationRequest.objects.filter(kind=VerificationRequestKind.OWNER_CONFIRMATION,
                                               closed_on__isnull=True,
                                               opened_on__lt=today - datetime.timedelta(days=days))
            .select_related("property__landlord__user", "property__employer__user"))
    sent = 0
    for request in late.iterator(chunk_size=2000):
        prop = request.property
        owner = prop.landlord or prop.employer
        user = getattr(owner, "user", None)
        if user is None or not user.is_active:
            continue
        title = _("Reminder: please confirm who lives at %(address)s (asked on %(date)s)") % {
            "address": prop.address, "date": request.opened_on.isoformat()}
        if notify(user=user, key=f"confirm-late:{request.pk}", kind="confirmation_late", title=title,
                  body=_("Unanswered requests lower the property's rating."),
                  url=reverse("portal:occupants_confirm", args=[prop.pk])):
            sent += 1
    return sent


def _permits_expiring(today: datetime.date, days: int) -> int:
    until = today + datetime.timedelta(days=days)
    expiring = (ResidencePermit.objects.filter(expires_on__gte=today, expires_on__lte=until)
                .only("id", "number", "expires_on", "person_id", "station_id"))
    sent = 0
    for permit in expiring.iterator(chunk_size=2000):
        title = _("Residence permit %(number)s expires on %(date)s: endorse or renew it") % {
            "number": permit.number, "date": permit.expires_on.isoformat()}
        for user in _station_users(permit.station_id, ("officer",)):
            if notify(user=user, key=f"permit-expiring:{permit.pk}:{permit.expires_on}", kind="permit_expiring",
                      title=title, url=reverse("persons:person_detail", args=[permit.person_id])):
                sent += 1
    return sent


def _appeals_waiting() -> int:
    from portal.models import AppealStatusChoices, RatingAppeal

    waiting = RatingAppeal.objects.filter(status=AppealStatusChoices.WAITING).select_related("property")
    sent = 0
    for appeal in waiting.iterator(chunk_size=2000):
        title = _("Rating appeal waiting for an answer: %(address)s, %(component)s") % {
            "address": appeal.property.address, "component": appeal.get_component_display()}
        for user in _station_users(appeal.property.station_id, ("officer",)):
            if notify(user=user, key=f"appeal-waiting:{appeal.pk}", kind="appeal_waiting", title=title,
                      url=reverse("review:appeal_list")):
                sent += 1
    return sent


def reminders_send(*, today: datetime.date | None = None) -> dict:
    """Send every reminder that is due today; returns how many notifications of each kind were new."""
    today = today or timezone.localdate()
    rules = settings.REGISTRY
    with translation.override(settings.LANGUAGE_CODE):
        return {
            "submissions_waiting": _submissions_waiting(today, rules["SUBMISSION_WAIT_REMINDER_DAYS"]),
            "confirmations_late": _confirmations_late(today, rules["REMINDER_ANSWER_DAYS"]),
            "permits_expiring": _permits_expiring(today, rules["PERMIT_REMINDER_DAYS"]),
            "appeals_waiting": _appeals_waiting(),
        }
