"""What persons learn from the apps above it (see ``registry/extensions.py``): where a person lives is housing's,
their residence permits patrol's. The person list's filters ask these; each app provides its own in its
``AppConfig.ready``, and until then (or without it) nothing matches.
"""

from registry.extensions import Provided

# ``function(user, **chosen) -> expression | None``: a condition on a person (correlated to the outer person's
# ``pk``) that one of their residences in ``user``'s scope matches everything chosen: ``community``,
# ``property``, ``residence_status`` ("active", "unconfirmed", or "ended": moved out, none current),
# ``verification`` ("due" within a week, "overdue"), ``arrived_from`` and ``arrived_until`` (the move-in date).
person_lives = Provided("person lives", default=lambda user, **chosen: None)

# ``function(request) -> queryset | None``: the properties the requesting user may pick in the person list.
property_choices = Provided("property choices", default=lambda request: None)

# ``function(user, status) -> expression | None``: a condition on a person about their residence permits:
# "valid", "expiring" (the last one ends within the reminder window), "expired", "none", or "eligible"
# (long enough at a current residence in scope, and no valid permit).
person_permit = Provided("person permit", default=lambda user, status: None)
