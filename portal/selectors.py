"""Reads for the portal: a property's rating explained, with what would raise each component."""

from dataclasses import dataclass

from django.conf import settings
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from .models import RatingComponentChoices


@dataclass(frozen=True)
class Component:
    key: str
    label: str
    points: int | None  # None: no data, not counted
    maximum: int
    evidence: str
    advice: str

    @property
    def missing(self) -> int:
        return 0 if self.points is None else self.maximum - self.points


def _advice(rating, key: str, maximum: int) -> str:
    deadline = settings.REGISTRY["REPORT_DEADLINE_DAYS"]
    points = getattr(rating, key)
    if points is not None and points >= maximum:
        return _("Full points: keep it up.")
    if key == "registration":
        if points is None:
            return _("Report every arrival and departure within %(days)d days of the move.") % {"days": deadline}
        late = (rating.arrivals - rating.arrivals_on_time) + (rating.departures - rating.departures_on_time)
        return ngettext("%(count)d move was reported late. Report within %(days)d days of each move.",
                        "%(count)d moves were reported late. Report within %(days)d days of each move.",
                        late) % {"count": late, "days": deadline}
    if key == "verification":
        if points is None:
            return _("Nobody lives here at the moment: not counted.")
        return ngettext("%(count)d resident is overdue for verification: confirm your occupants when asked.",
                        "%(count)d residents are overdue for verification: confirm your occupants when asked.",
                        rating.overdue_residents) % {"count": rating.overdue_residents}
    if key == "inspection":
        if not rating.last_inspection_on:
            return _("Ask your community officer for a safety inspection.")
        if rating.last_inspection_passed:
            return _("The last inspection is more than 12 months old: ask for a new one.")
        return _("Fix the items that failed and ask your community officer to inspect again.")
    if key == "occupancy":
        return ngettext("%(count)d unit houses more people than its capacity: reduce it to the capacity.",
                        "%(count)d units house more people than their capacity: reduce them to the capacity.",
                        rating.units_over_capacity) % {"count": rating.units_over_capacity}
    if not rating.agreement_signed_on:
        return _("Sign the responsibility agreement at your police station.")
    return _("Answer each request to confirm your occupants within %(days)d days.") % {
        "days": settings.REGISTRY["REMINDER_ANSWER_DAYS"]}


def _evidence(rating, key: str) -> str:
    """What the component was computed from, in numbers the owner can check."""
    if key == "registration":
        if rating.registration is None:
            return _("No arrivals or departures in the last 12 months.")
        return _("Reported within the deadline: %(a)d of %(b)d arrivals, %(c)d of %(d)d departures "
                 "(last 12 months).") % {"a": rating.arrivals_on_time, "b": rating.arrivals,
                                         "c": rating.departures_on_time, "d": rating.departures}
    if key == "verification":
        if rating.verification is None:
            return _("No current residents.")
        return _("%(overdue)d of %(current)d current residents overdue for verification.") % {
            "overdue": rating.overdue_residents, "current": rating.current_residents}
    if key == "inspection":
        if not rating.last_inspection_on:
            return _("No inspection recorded.")
        date = rating.last_inspection_on.isoformat()
        return (_("Last inspection passed on %(date)s.") if rating.last_inspection_passed
                else _("Last inspection failed on %(date)s.")) % {"date": date}
    if key == "occupancy":
        return ngettext("%(count)d unit over capacity.", "%(count)d units over capacity.",
                        rating.units_over_capacity) % {"count": rating.units_over_capacity}
    if not rating.agreement_signed_on:
        return _("Agreement not signed.")
    return ngettext("Agreement signed on %(date)s; %(count)d request unanswered for more than %(days)d days.",
                    "Agreement signed on %(date)s; %(count)d requests unanswered for more than %(days)d days.",
                    rating.requests_unanswered) % {
        "date": rating.agreement_signed_on.isoformat(), "count": rating.requests_unanswered,
        "days": settings.REGISTRY["REMINDER_ANSWER_DAYS"]}


def rating_explained(rating) -> dict | None:
    """The rating's components with points, maximum and advice, and the points to the next star."""
    if rating is None:
        return None
    weights = settings.REGISTRY["RATING_WEIGHTS"]
    components = [Component(key=key, label=str(RatingComponentChoices(key).label), points=getattr(rating, key),
                            maximum=weights[key], evidence=_evidence(rating, key),
                            advice=_advice(rating, key, weights[key]))
                  for key in RatingComponentChoices.values]
    next_star = None
    if rating.total is not None:
        for threshold, stars in sorted(settings.REGISTRY["RATING_STAR_THRESHOLDS"]):
            if rating.total < threshold:
                next_star = {"stars": stars, "points": threshold - rating.total}
                break
    return {"rating": rating, "components": components, "next_star": next_star}
