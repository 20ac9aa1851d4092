"""Reads for patrol work that are more than a filter."""

import datetime

from dateutil.relativedelta import relativedelta
from django.conf import settings
from django.db.models import Case, CharField, Count, Exists, IntegerField, Max, OuterRef, Q, QuerySet, Value, When
from django.utils import timezone

from housing.models import CURRENT_RESIDENCE_STATUSES as CURRENT
from housing.models import Property, Residence
from housing.selectors import DETAIL_ROWS
from persons.extensions import Probe
from persons.models import Person

from .models import Inspection, PropertyRating, ResidencePermit, VerificationRequest, Visit, VisitOutcome


def visit_residences(user, prop: Property) -> QuerySet[Residence]:
    """The residents a visit to ``prop`` answers for: its current residences within the visitor's scope,
    by unit. The visit page asks about each; the API wants an answer for each."""
    return (Residence.objects.visible_to(user)
            .filter(unit__property=prop, status__in=CURRENT)
            .select_related("person", "unit")
            .order_by("unit__label", "start_date", "id"))


def with_expiry_state(queryset, today: datetime.date, soon: datetime.date):
    """Annotate ``expiry_state`` (expiring / valid / expired) and sort the ones needing action first."""
    return queryset.annotate(
        expiry_state=Case(When(expires_on__lt=today, then=Value("expired")),
                          When(expires_on__lte=soon, then=Value("expiring")),
                          default=Value("valid"), output_field=CharField()),
        expiry_rank=Case(When(expires_on__lt=today, then=Value(2)), When(expires_on__lte=soon, then=Value(0)),
                         default=Value(1), output_field=IntegerField()),
    ).order_by("expiry_rank", "expires_on", "id")


def property_patrol_context(user, prop: Property) -> dict:
    """The property page's safety inspections and visits, newest first, within the user's scope."""
    return {
        "inspections": Inspection.objects.visible_to(user).filter(property=prop)
        .select_related("inspector")[:DETAIL_ROWS],
        "visits": Visit.objects.visible_to(user).filter(property=prop)
        .select_related("visited_by").annotate(outcome_count=Count("outcomes"))[:DETAIL_ROWS],
    }


# A registration the user made this recently is offered a receipt at the top of the person's page, where the
# registration (or "moved here") lands.
RECEIPT_OFFER_MINUTES = 60


def person_patrol_context(user, person: Person) -> dict:
    """The person page's residence permits and the outcomes of visits that checked them, and the registration
    the user has just made, if any, to offer its receipt for the resident."""
    context = {
        "permits": ResidencePermit.objects.visible_to(user).filter(person=person).order_by("-issued_on"),
        "visit_outcomes": VisitOutcome.objects.visible_to(user).filter(residence__person=person)
        .select_related("visit__property", "visit__visited_by").order_by("-visit__visited_on")[:20],
    }
    if user.has_perm("patrol.add_receipt"):
        since = timezone.now() - datetime.timedelta(minutes=RECEIPT_OFFER_MINUTES)
        context["receipt_offer"] = (Residence.objects.visible_to(user)
                                    .filter(person=person, status__in=CURRENT, created_by=user, created_at__gte=since)
                                    .select_related("unit__property").first())
    return context


def stars_of(property_ids) -> dict[int, int]:
    """The current star rating of each property that has one (id -> stars), in one query."""
    return dict(PropertyRating.objects.filter(property_id__in=property_ids, is_current=True).values_list(
        "property_id", "stars"))


def property_public_facts(prop: Property) -> dict:
    """What the public plaque page shows from patrol work: the current stars (0 = not yet rated) and the date
    the property was last checked (its latest visit or inspection)."""
    stars = PropertyRating.objects.filter(property=prop, is_current=True).values_list("stars", flat=True).first()
    checked = [
        Visit.objects.filter(property=prop).aggregate(last=Max("visited_on"))["last"],
        Inspection.objects.filter(property=prop).aggregate(last=Max("inspected_on"))["last"],
    ]
    return {
        "stars": stars or 0,
        "last_checked_on": max((day for day in checked if day is not None), default=None),
    }


def rated_with(stars: int):
    """A property (the outer query's row) has a current rating of ``stars`` stars (0: none yet, or 0 stars)."""
    if stars:
        return Exists(PropertyRating.objects.filter(property=OuterRef("pk"), is_current=True, stars=stars))
    return ~Exists(PropertyRating.objects.filter(property=OuterRef("pk"), is_current=True, stars__gt=0))


def open_verification(escalated: bool):
    """A property (the outer query's row) has an open re-verification request (escalated, if asked)."""
    requests = VerificationRequest.objects.filter(property=OuterRef("pk"), closed_on__isnull=True)
    if escalated:
        requests = requests.filter(escalated_on__isnull=False)
    return Exists(requests)


def person_permit(user, status: str, *, today: datetime.date | None = None, plan: str = ""):
    """A condition on a person about their residence permits, for the person list's filter (persons/extensions.py).
    Every permit of the person counts, as when deciding whether one may be issued; "eligible" also asks a current
    residence in ``user``'s scope of at least PERMIT_ELIGIBLE_MONTHS. ``plan``: how the caller reads the page
    ("probe", "first"; persons/extensions.py)."""
    exists = Probe if plan == "probe" else Exists
    today = today or timezone.localdate()
    soon = today + datetime.timedelta(days=settings.REGISTRY["PERMIT_REMINDER_DAYS"])
    permits = ResidencePermit.objects.filter(person=OuterRef("pk"))
    valid = exists(permits.filter(expires_on__gte=today))
    if status == "valid":
        return Q(valid)
    if status == "expiring":
        # Never read first (``plan="first"``): at five million persons a month's window holds 139,000 permits of
        # the city for 3,000 holders in a station, and reading those ids costs more than the join.
        return Q(exists(permits.filter(expires_on__gte=today, expires_on__lte=soon))) & ~Q(
            exists(permits.filter(expires_on__gt=soon)))
    if status == "expired":
        return Q(exists(permits)) & ~Q(valid)
    if status == "none":
        return ~Q(exists(permits))
    if status == "eligible":
        cutoff = today - relativedelta(months=settings.REGISTRY["PERMIT_ELIGIBLE_MONTHS"])
        long_enough = Residence.objects.visible_to(user).filter(person=OuterRef("pk"), status__in=CURRENT,
                                                                start_date__lte=cutoff)
        return Q(exists(long_enough)) & ~Q(valid)
    return None
