"""What housing learns from the apps above it (see ``registry/extensions.py``): ratings and checks are patrol's.

Patrol provides these in its ``AppConfig.ready``; until then (or without patrol) each has a neutral default.
"""

from django.dispatch import Signal

from registry.extensions import Provided

# Sent with ``property_id`` when something a property's compliance rating reads has changed: a registration,
# a departure, a correction, a visit, an inspection, an approved report. Patrol re-rates the property after commit.
property_changed = Signal()


def property_inputs_changed(property_id: int | None) -> None:
    """Say that ``property_id``'s rating inputs changed (see ``property_changed``)."""
    if property_id is not None:
        property_changed.send(sender=None, property_id=property_id)


# ``function(property_ids) -> {property_id: stars}``: the current star rating of each rated property. The
# re-verification interval of a new registration follows it (PRODUCT.md "Re-verification").
property_stars = Provided("property stars", default=lambda property_ids: {})

# ``function(prop) -> {"stars": int, "last_checked_on": date | None}``: what the public plaque page tells
# about the property's rating and its latest visit or inspection.
plaque_facts = Provided("plaque facts", default=lambda prop: {"stars": 0, "last_checked_on": None})

# ``function(escalated: bool) -> expression | None``: a condition on a property (correlated to the outer
# property's ``pk``) that it has an open re-verification request, escalated to a supervisor if ``escalated``;
# None: no property has one.
open_verification = Provided("open verification", default=lambda escalated: None)

# ``function(stars) -> expression | None``: a condition on a property (correlated to the outer property's ``pk``)
# that its current compliance rating has ``stars`` stars; 0 means not yet rated (no current rating, or one of
# 0 stars). None: no rating is kept, so every property is unrated.
rated_with = Provided("rated with", default=lambda stars: None)


def stars_of_property(property_id: int) -> int:
    return property_stars([property_id]).get(property_id, 0)
