"""The session engine: django-qsessions' cached database sessions (each with its user, browser and address),
written without waiting for the disk.

A session write (a search kept behind ``?k=``, the last activity, a login) is committed with
``synchronous_commit`` off on PostgreSQL: the commit returns before its WAL record is flushed, which is what a
search's POST paid for most (docs/performance.md). A crash could lose the last fraction of a second of
session writes, never the registry's own data (every other transaction keeps the server's setting), and
nothing worse follows than signing in or searching again.
"""

from django.db import connections, router, transaction
from qsessions.backends.cached_db import SessionStore as QSessionsCachedStore


class SessionStore(QSessionsCachedStore):
    def save(self, must_create=False):
        using = router.db_for_write(self.model)
        connection = connections[using]
        if connection.vendor != "postgresql" or connection.in_atomic_block:
            return super().save(must_create)  # inside someone's transaction: theirs decides
        with transaction.atomic(using=using):
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
            return super().save(must_create)
