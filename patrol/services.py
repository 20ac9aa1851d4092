"""Patrol work: visits, inspections, permits, and the re-verification sweep."""

import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Case, Count, Exists, F, OuterRef, Subquery, Value, When
from django.db.models.functions import Coalesce
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from housing.extensions import property_inputs_changed
from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import Property, Residence, ResidenceEndedViaChoices, ResidenceStatusChoices
from housing.rules import next_verification_due
from housing.services import residence_end
from registry.models import Notification
from registry.notifications import notify_many
from registry.services import versioned_save

from .models import (
    Inspection,
    PropertyRating,
    ResidencePermit,
    VerificationRequest,
    VerificationRequestKind,
    Visit,
    VisitOutcome,
    VisitOutcomeChoices,
)
from .rating import current_stars


def visit_check(*, prop: Property, visited_on: datetime.date, outcomes: dict) -> None:
    """Preconditions of a visit, for the page and the API alike: not post-dated, answers only for current
    residents of the property, and a moved-out date between the move-in and the visit.

    Errors about one resident are keyed ``outcome_<residence id>`` / ``moved_out_on_<residence id>``.
    """
    if visited_on > timezone.localdate():
        raise ValidationError({"visited_on": _("Visited on: cannot be in the future.")})
    current = dict(Residence.objects.filter(unit__property=prop, status__in=CURRENT).values_list("pk", "start_date"))
    if set(outcomes) - set(current):
        raise ValidationError({"outcomes": _("Some residents are not registered at this property any more; "
                                             "reload the page.")})
    errors = {}
    for residence_id, (outcome, moved_out_on) in outcomes.items():
        if outcome not in VisitOutcomeChoices.values:
            errors[f"outcome_{residence_id}"] = _("Choose confirmed, moved out or not found.")
        elif outcome != VisitOutcomeChoices.MOVED_OUT:
            continue
        elif not moved_out_on:
            errors[f"moved_out_on_{residence_id}"] = _("Moved out on: give the date the resident left.")
        elif moved_out_on > visited_on:
            errors[f"moved_out_on_{residence_id}"] = _("Moved out on: cannot be after the date of the visit.")
        elif moved_out_on < current[residence_id]:
            errors[f"moved_out_on_{residence_id}"] = _(
                "Moved out on: must not be before the move-in date (%(date)s).") % {
                "date": current[residence_id].isoformat()}
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def visit_record(*, prop: Property, visited_on: datetime.date, actor, outcomes: dict, note: str = "") -> Visit:
    """One visit covers every check due at the property.

    ``outcomes`` maps residence id → (outcome, moved-out date or None). Confirmed residences get their
    next verification date from the property's rating; moved-out ones end; not-found ones become
    "unconfirmed" — never deregistered automatically.
    """
    visit_check(prop=prop, visited_on=visited_on, outcomes=outcomes)
    visit = Visit(property=prop, visited_on=visited_on, visited_by=actor, note=note)
    visit.full_clean(exclude=["visited_by"])
    visit.save()
    residences = Residence.objects.select_for_update().filter(pk__in=outcomes).select_related("unit__property")
    next_due = next_verification_due(from_date=visited_on, stars=current_stars(prop.pk))
    for residence in residences:
        outcome, moved_out_on = outcomes[residence.pk]
        if outcome != VisitOutcomeChoices.MOVED_OUT:
            moved_out_on = None  # a date typed beside "confirmed" or "not found" means nothing
        VisitOutcome.objects.create(visit=visit, residence=residence, outcome=outcome, moved_out_on=moved_out_on)
        if outcome == VisitOutcomeChoices.CONFIRMED:
            residence.status = ResidenceStatusChoices.ACTIVE
            residence.next_verification_due = next_due
            versioned_save(residence, expected_version=None, fields=["status", "next_verification_due"])
        elif outcome == VisitOutcomeChoices.MOVED_OUT:
            residence_end(residence=residence, end_date=moved_out_on, ended_via=ResidenceEndedViaChoices.VISIT)
        else:
            residence.status = ResidenceStatusChoices.UNCONFIRMED
            versioned_save(residence, expected_version=None, fields=["status"])
    VerificationRequest.objects.filter(property=prop, closed_on__isnull=True).update(closed_on=visited_on)
    property_inputs_changed(prop.pk)
    return visit


@transaction.atomic
def inspection_record(*, prop: Property, inspected_on: datetime.date, inspector, items: dict,
                      notes: str = "") -> Inspection:
    if inspected_on > timezone.localdate():
        raise ValidationError({"inspected_on": _("Inspected on: cannot be in the future.")})
    missing = [item for item in Inspection.CHECKLIST if item not in items]
    if missing:
        raise ValidationError(_("Every checklist item needs pass or fail: %(items)s") % {"items": ", ".join(missing)})
    inspection = Inspection(property=prop, inspected_on=inspected_on, inspector=inspector, notes=notes,
                            **{item: bool(items[item]) for item in Inspection.CHECKLIST})
    inspection.full_clean()
    inspection.save()
    property_inputs_changed(prop.pk)
    return inspection


def permit_eligible_since(residence: Residence) -> datetime.date:
    """The date from which a current residence makes its person eligible for a residence permit."""
    return residence.start_date + relativedelta(months=settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"])


def permits_eligible(queryset, *, today: datetime.date | None = None):
    """Current residences of at least the required continuous months whose person holds no valid permit."""
    today = today or timezone.localdate()
    cutoff = today - relativedelta(months=settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"])
    valid_permit = ResidencePermit.objects.filter(person=OuterRef("person"), expires_on__gte=today)
    return queryset.filter(status__in=CURRENT, start_date__lte=cutoff).exclude(Exists(valid_permit))


def permit_check_issue(*, residence: Residence, issued_on: datetime.date) -> None:
    """Preconditions of a permit: a current residence, long enough, no valid permit yet, not post-dated."""
    if issued_on > timezone.localdate():
        raise ValidationError({"issued_on": _("Issued on: cannot be in the future.")})
    if residence.status not in CURRENT:
        raise ValidationError(_("Not eligible: this registration has ended."), code="ended")
    since = permit_eligible_since(residence)
    if since > issued_on:
        raise ValidationError(_("Not eligible yet: %(months)d months of continuous residence are reached on "
                                "%(date)s.") % {"months": settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"],
                                                "date": since}, code="too_early")
    if ResidencePermit.objects.filter(person_id=residence.person_id, expires_on__gte=issued_on).exists():
        raise ValidationError(_("Not eligible: this person already holds a valid residence permit."),
                              code="has_permit")


@transaction.atomic
def permit_issue(*, residence: Residence, number: str, issued_on: datetime.date, actor=None) -> ResidencePermit:
    permit_check_issue(residence=residence, issued_on=issued_on)
    permit = ResidencePermit(
        person=residence.person, station_id=residence.station_id, number=(number or "").strip(),
        issued_on=issued_on, last_endorsed_on=issued_on,
        expires_on=issued_on + relativedelta(months=settings.REGISTRY["PERMIT_VALID_MONTHS"]))
    permit.full_clean()
    permit.save()
    return permit


def permit_endorse_opens_on(permit: ResidencePermit) -> datetime.date:
    """Endorsement opens this many days before expiry (the reminder window)."""
    return permit.expires_on - datetime.timedelta(days=settings.REGISTRY["PERMIT_REMINDER_DAYS"])


def permit_check_endorse(*, permit: ResidencePermit, endorsed_on: datetime.date,
                         expected_expires_on: datetime.date | None = None) -> None:
    if expected_expires_on is not None and expected_expires_on != permit.expires_on:
        raise ValidationError(_("Permit %(number)s changed since this page was loaded (perhaps it was just "
                                "endorsed); nothing was done. Check it and try again.") % {"number": permit.number},
                              code="stale")
    if endorsed_on < permit_endorse_opens_on(permit):
        raise ValidationError(_("Permit %(number)s is not due for endorsement until %(date)s.") % {
            "number": permit.number, "date": permit_endorse_opens_on(permit).isoformat()}, code="too_early")


@transaction.atomic
def permit_endorse(*, permit: ResidencePermit, endorsed_on: datetime.date,
                   expected_expires_on: datetime.date | None = None) -> ResidencePermit:
    """Yearly endorsement: extends validity by a year from the current expiry (or today, if expired)."""
    permit = ResidencePermit.objects.select_for_update().get(pk=permit.pk)
    permit_check_endorse(permit=permit, endorsed_on=endorsed_on, expected_expires_on=expected_expires_on)
    base = max(permit.expires_on, endorsed_on)
    permit.last_endorsed_on = endorsed_on
    permit.expires_on = base + relativedelta(months=settings.REGISTRY["PERMIT_VALID_MONTHS"])
    permit.full_clean()
    permit.save(update_fields=["last_endorsed_on", "expires_on"])
    return permit


def verification_sweep(*, today: datetime.date | None = None) -> dict:
    """Daily: open one request per property with residents due, route it, escalate old ones.

    Set-based: one ``INSERT ... SELECT`` opens every request, one ``UPDATE`` claims every escalation,
    and notifications are written in bulk: station staff get one digest a day, not one message per
    property. Idempotent: a property with an open request gets no second one (a partial unique index
    backs this up against a concurrent sweep), and every notification has a unique key, so running the
    sweep twice, or a redelivered task, sends nothing twice.
    """
    today = today or timezone.localdate()
    rules = settings.REGISTRY
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        opened = _requests_open(today=today, min_stars=rules["SELF_CONFIRM_MIN_STARS"])
        _notify_opened(today=today)
    with translation.override(settings.LANGUAGE_CODE), transaction.atomic():
        escalated = _escalate(today=today, days=rules["ESCALATE_OVERDUE_DAYS"])
    return {"opened": opened, "escalated": escalated}


def _requests_open(*, today: datetime.date, min_stars: int) -> int:
    """Open a request at every property with a resident due and no open request; returns how many."""
    due = Residence.objects.filter(unit__property=OuterRef("pk"), status__in=CURRENT,
                                   next_verification_due__lte=today)
    # NOT IN (a subquery), not NOT EXISTS: with the requests table empty (after a quiet night, or a test)
    # PostgreSQL chose a nested-loop anti join, scanning the table once per property while this very
    # statement filled it: 24 s instead of 2.5 s at 1M. NOT IN is hashed once, before the first insert.
    open_request = VerificationRequest.objects.filter(closed_on__isnull=True).values("property_id")
    stars = PropertyRating.objects.filter(property=OuterRef("pk"), is_current=True).values("stars")[:1]
    needing = (
        Property.objects.filter(Exists(due)).exclude(pk__in=open_request).order_by()
        .annotate(first_due=Subquery(due.order_by("next_verification_due").values("next_verification_due")[:1]),
                  stars=Coalesce(Subquery(stars), 0),
                  owner_user=Coalesce(F("landlord__user_id"), F("employer__user_id")))
        # Well-rated properties with a portal account confirm their occupants themselves.
        .annotate(kind=Case(When(stars__gte=min_stars, owner_user__isnull=False,
                                 then=Value(VerificationRequestKind.OWNER_CONFIRMATION)),
                            default=Value(VerificationRequestKind.VISIT)))
        .values_list("id", "kind", "first_due"))
    sql, params = needing.query.sql_with_params()
    with connection.cursor() as cursor:
        # ``WHERE 1 = 1``: SQLite needs a WHERE before ON CONFLICT in an INSERT ... SELECT.
        cursor.execute(
            "INSERT INTO patrol_verificationrequest (property_id, kind, opened_on, due_since) "  # noqa: S608
            f"SELECT n.id, n.kind, %s, n.first_due FROM ({sql}) n WHERE 1 = 1 ON CONFLICT DO NOTHING",
            [today, *params])
        return cursor.rowcount


def _notify_opened(*, today: datetime.date) -> None:
    """Owners: one message per property to confirm. Station staff: one digest a day of what waits."""
    from django.contrib.auth import get_user_model

    opened_today = VerificationRequest.objects.filter(opened_on=today, closed_on__isnull=True)
    owners = opened_today.filter(kind=VerificationRequestKind.OWNER_CONFIRMATION).annotate(
        owner_user=Coalesce(F("property__landlord__user_id"), F("property__employer__user_id"))).values_list(
        "pk", "property_id", "property__address", "owner_user")
    messages = [
        Notification(user_id=owner_user, key=f"verify:{pk}", kind="verification_due",
                     title=_("Please confirm who lives at %(address)s") % {"address": address},
                     url=reverse("portal:occupants_confirm", args=[property_id]))
        for pk, property_id, address, owner_user in owners.iterator(chunk_size=5000) if owner_user]
    waiting = dict(VerificationRequest.objects.filter(closed_on__isnull=True, kind=VerificationRequestKind.VISIT)
                   .values("property__station_id").annotate(n=Count("pk")).values_list("property__station_id", "n"))
    new = dict(opened_today.filter(kind=VerificationRequestKind.VISIT).values("property__station_id")
               .annotate(n=Count("pk")).values_list("property__station_id", "n"))
    staff = get_user_model().objects.filter(profile__station_id__in=new, profile__role__in=["staff", "officer"],
                                            is_active=True).values_list("pk", "profile__station_id")
    url = f"{reverse('housing:property_list')}?verification=open"
    for user_id, station_id in staff:
        title = ngettext("Verification due at %(count)d new property", "Verification due at %(count)d new properties",
                         new[station_id]) % {"count": new[station_id]}
        body = ngettext("%(count)d property in all is waiting for a verification visit.",
                        "%(count)d properties in all are waiting for a verification visit.",
                        waiting[station_id]) % {"count": waiting[station_id]}
        messages.append(Notification(user_id=user_id, key=f"verify:station:{station_id}:{today}",
                                     kind="verification_due", title=title, body=body, url=url))
    notify_many(messages)


def _escalate(*, today: datetime.date, days: int) -> int:
    """Claim every request overdue for more than ``days`` (one UPDATE), and tell the district's supervisors."""
    from django.contrib.auth import get_user_model

    limit = today - datetime.timedelta(days=days)
    claimed = VerificationRequest.objects.filter(closed_on__isnull=True, escalated_on__isnull=True,
                                                 due_since__lt=limit).update(escalated_on=today)
    escalated_today = (VerificationRequest.objects.filter(escalated_on=today, closed_on__isnull=True)
                       .values("property__station__district_id", "property__station__name")
                       .annotate(n=Count("pk")).order_by("property__station__name"))
    by_district = {}
    for row in escalated_today:
        by_district.setdefault(row["property__station__district_id"], []).append(
            (row["property__station__name"], row["n"]))
    supervisors = get_user_model().objects.filter(profile__role="supervisor", profile__district_id__in=by_district,
                                                  is_active=True).values_list("pk", "profile__district_id")
    messages = []
    for user_id, district_id in supervisors:
        stations = by_district[district_id]
        total = sum(n for _name, n in stations)
        title = ngettext("%(count)d verification overdue more than %(days)d days",
                         "%(count)d verifications overdue more than %(days)d days", total) % {
            "count": total, "days": days}
        body = "\n".join(f"{name}: {n}" for name, n in stations)
        messages.append(Notification(user_id=user_id, key=f"escalate:district:{district_id}:{today}",
                                     kind="verification_overdue", title=title, body=body,
                                     url=reverse("dashboard")))
    notify_many(messages)
    return claimed
