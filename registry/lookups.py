"""Lookups and expressions the ORM lacks."""

from django.core.exceptions import EmptyResultSet
from django.db.models import Count, Lookup, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce


class AnyOf(Lookup):
    """``column = ANY(%s)`` with the whole list as one array parameter on PostgreSQL; ``IN`` elsewhere.

    ``pk__in`` with the thousands of ids a name search reads first prepares, quotes and sends each id on its
    own: about 6 ms of Python per query at that size, against well under one for a single array. The
    values are used as given, so they must already be of the column's type (ids read from the database).
    Used as an expression: ``queryset.filter(AnyOf(F("pk"), ids))``.
    """

    lookup_name = "any_of"
    prepare_rhs = False

    def get_prep_lookup(self):
        return list(self.rhs)

    def as_sql(self, compiler, connection):
        if not self.rhs:
            raise EmptyResultSet
        lhs, lhs_params = self.process_lhs(compiler, connection)
        if connection.vendor == "postgresql":
            array_type = self.lhs.output_field.rel_db_type(connection)
            return f"{lhs} = ANY(%s::{array_type}[])", (*lhs_params, self.rhs)
        return f"{lhs} IN ({', '.join(['%s'] * len(self.rhs))})", (*lhs_params, *self.rhs)


def count_of(queryset: QuerySet, outer: str):
    """A correlated ``COUNT(*)`` of the rows of ``queryset`` whose ``outer`` is the outer row: no per-row query,
    and unlike ``Count()`` over joins, several of these side by side don't multiply each other."""
    rows = queryset.filter(**{outer: OuterRef("pk")}).order_by().values(outer)
    return Coalesce(Subquery(rows.annotate(n=Count("pk")).values("n")), 0)
