"""The audit trail on PostgreSQL with two roles (.ci/run, "two database roles"; registry/db_roles.py).

    python .ci/db_roles_check.py app     # DATABASE_URL: the application's role
    python .ci/db_roles_check.py owner   # DATABASE_URL: the owner role, which ran the migrations

``app`` fails unless the application's role can write and read audit events and seals, is refused every
UPDATE, DELETE, TRUNCATE and ALTER TABLE of them, and can still run the retention purge through the owner's
function, after which the chain verifies. ``owner`` fails unless ``check --deploy``'s E004 refuses the owner
as the application's role (so the check can fail, and does where it should).
"""

import datetime
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "registry.settings")

import django  # noqa: E402

django.setup()

from django.db import DatabaseError, connection, transaction  # noqa: E402
from django.utils import timezone  # noqa: E402

from registry import audit  # noqa: E402
from registry.audit_chain import audit_purge_expired, audit_seal, audit_verify  # noqa: E402
from registry.db_roles import audit_trail_not_rewritable  # noqa: E402
from registry.models import AuditAction, AuditEvent, AuditSeal  # noqa: E402

REFUSED = [
    "UPDATE registry_auditevent SET reason = 'rewritten'",
    "DELETE FROM registry_auditevent",
    "TRUNCATE registry_auditevent",
    "ALTER TABLE registry_auditevent DISABLE TRIGGER ALL",
    "DROP TABLE registry_auditevent",
    "UPDATE registry_auditseal SET digest = repeat('0', 64)",
    "DELETE FROM registry_auditseal",
    "TRUNCATE registry_auditseal",
    "UPDATE registry_auditchainstart SET position = 0",
]


def fail(message: str) -> None:
    print(f"FAILED: {message}")
    sys.exit(1)


def app() -> None:
    assert connection.vendor == "postgresql", connection.vendor
    old = [AuditEvent.objects.create(action=AuditAction.VIEW, at=timezone.now() - datetime.timedelta(days=400))
           for _ in range(3)]
    young = audit.record(action=AuditAction.VIEW, object_type="persons.person", object_id="1")
    if not AuditEvent.objects.filter(pk=young.pk).exists():
        fail("the application's role cannot read the event it wrote")
    audit_seal()
    for statement in REFUSED:
        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement)
        except DatabaseError as exc:
            reason = str(exc).splitlines()[0]
            if "permission denied" not in reason and "must be owner" not in reason:
                fail(f"{statement!r} failed for another reason: {reason}")
            print(f"refused: {statement}  ({reason})")
        else:
            fail(f"the application's role could run {statement!r}")
    if audit_trail_not_rewritable(None, databases=["default"]):
        fail("check --deploy (registry.E004) refuses the application's role")
    removed = audit_purge_expired()
    if AuditEvent.objects.filter(pk__in=[event.pk for event in old]).exists() or removed < len(old):
        fail(f"the purge through the owner's function removed {removed} events, not the {len(old)} old ones")
    verdict = audit_verify()
    if not verdict.ok:
        fail(f"the chain does not verify after the purge: {verdict.summary()}")
    print(f"the purge removed {removed} old events through registry_audit_purge; {verdict.summary()} "
          f"({AuditSeal.objects.count()} seals)")


def owner() -> None:
    found = audit_trail_not_rewritable(None, databases=["default"])
    if [error.id for error in found] != ["registry.E004"]:
        fail(f"check --deploy did not refuse the owner as the application's role: {found}")
    print(f"the owner role is refused as the application's: {found[0].msg}")


if __name__ == "__main__":
    {"app": app, "owner": owner}[sys.argv[1]]()
