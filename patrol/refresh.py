"""Re-rate properties after their inputs changed (a registration, a departure, a visit, an approval...).

Each property is queued once per transaction, after commit: an import or a roster that registers a
thousand people in forty properties sends one task with forty ids, not a thousand tasks.
"""

from django.db import transaction

from .tasks import properties_rate_task

BATCH = 1000


def rating_refresh_on_commit(property_id: int | None) -> None:
    """Queue ``property_id`` for re-rating when the current transaction commits (at once outside one)."""
    if property_id is None:
        return
    connection = transaction.get_connection()
    state = getattr(connection, "_registry_rating_refresh", None)
    # A rolled-back (savepoint or) transaction drops its callbacks; then the pending set is stale too.
    if state is not None and any(entry[1] is state[1] for entry in connection.run_on_commit):
        state[0].add(property_id)
        return
    pending = {property_id}

    def flush():
        ids = sorted(pending)
        connection._registry_rating_refresh = None
        for first in range(0, len(ids), BATCH):
            properties_rate_task.delay(ids[first:first + BATCH])

    connection._registry_rating_refresh = (pending, flush)
    transaction.on_commit(flush)


def rating_refresh_on_change(sender, property_id: int, **kwargs) -> None:
    """Receiver of ``housing.extensions.property_changed``."""
    rating_refresh_on_commit(property_id)
