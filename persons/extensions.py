"""What persons learn from the apps above it (see ``registry/extensions.py``): where a person lives is housing's,
their residence permits patrol's. The person list's filters ask these; each app provides its own in its
``AppConfig.ready``, and until then (or without it) nothing matches.
"""

from django.db.models import Exists, F, Q, QuerySet

from registry.extensions import Provided
from registry.lookups import AnyOf


class Probe(Exists):
    """An ``EXISTS`` that PostgreSQL tests person by person, as written, rather than turning it into a join
    that reads every match first (``OFFSET 0`` stops that; it changes nothing else, in either engine).

    For a station's persons walked in the page's order (the person list's filters): the page costs the
    persons walked to fill it. A condition few persons meet (a property) is better a join: the providers
    are asked for probes only when the caller walks."""

    template = "EXISTS(%(subquery)s OFFSET 0)"


def read_first(persons: QuerySet) -> Q:
    """The person (the outer row) is one of ``persons`` (a query of ``person_id``, not correlated to the outer
    row), read first, as one list of ids: the page is then read from the person index in its order, an id at a
    time, until it is full.

    For a condition whose matches gather among older persons (moved out, arrived a year ago): walked newest
    first, the station's persons would be passed by the ten thousand before the first match, while the
    matches are a few thousand index entries. Ids rather than a subquery: PostgreSQL then knows how many there
    are (for an ``ARRAY(subquery)`` it guesses ten, and sorts every match for the page)."""
    ids = sorted(set(persons.order_by().values_list("person_id", flat=True)))
    return Q(_AnyOfText(F("pk"), ids)) if ids else Q(pk__in=[])


class _AnyOfText(AnyOf):
    """``AnyOf`` with the ids sent to PostgreSQL as one array literal: psycopg adapts a list of 20,000 ids one by
    one (40 ms at five million persons, for a moved-out filter), the literal PostgreSQL parses in a millisecond."""

    def as_sql(self, compiler, connection):
        if connection.vendor != "postgresql" or not self.rhs:
            return super().as_sql(compiler, connection)
        lhs, lhs_params = self.process_lhs(compiler, connection)
        array_type = self.lhs.output_field.rel_db_type(connection)
        return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, "{" + ",".join(map(str, self.rhs)) + "}")


# ``function(user, **chosen) -> expression | None``: a condition on a person (correlated to the outer person's
# ``pk``) that one of their residences in ``user``'s scope matches everything chosen: ``community``,
# ``property``, ``residence_status`` ("active", "unconfirmed", or "ended": moved out, none current),
# ``verification`` ("due" within a week, "overdue"), ``arrived_from`` and ``arrived_until`` (the move-in date).
# ``plan`` says how the caller reads the page: "" (joins), "probe" (a station's persons walked in the page's
# order: each ``EXISTS`` is a ``Probe``) or "first" (newest first: a selective condition's persons ``read_first``).
person_lives = Provided("person lives", default=lambda user, **chosen: None)

# ``function(request) -> queryset | None``: the properties the requesting user may pick in the person list.
property_choices = Provided("property choices", default=lambda request: None)

# ``function(user, status) -> expression | None``: a condition on a person about their residence permits:
# "valid", "expiring" (the last one ends within the reminder window), "expired", "none", or "eligible"
# (long enough at a current residence in scope, and no valid permit). ``plan``: as for ``person_lives``.
person_permit = Provided("person permit", default=lambda user, status, **options: None)
