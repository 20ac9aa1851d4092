"""Two PostgreSQL roles: the owner runs the migrations, the application connects as a role that may not rewrite
the audit trail.

``DATABASE_APP_ROLE`` names the application's role. After every ``migrate`` run as the owner, the application's
role is granted what it needs on every table and sequence, except that it may only INSERT and SELECT the audit
trail (events, seals, the chain's start): no UPDATE, DELETE or TRUNCATE, and as it owns nothing it cannot
``ALTER TABLE ... DISABLE TRIGGER`` either. The one delete of audit events, the retention purge, goes through
``registry_audit_purge`` (migration 0009), which runs with the owner's rights. Set up in docs/deployment.md,
docker-compose.yml and .ci/run; ``check --deploy`` refuses a production whose role could rewrite the trail.
"""

from django.conf import settings
from django.core import checks
from django.db import connections

AUDIT_TABLES = ("registry_auditevent", "registry_auditseal", "registry_auditchainstart")
REWRITES = ("UPDATE", "DELETE", "TRUNCATE")


def grant_app_role(sender=None, using="default", **kwargs) -> None:
    """``post_migrate``: give the application's role its rights (nothing when no role is configured)."""
    role = settings.DATABASE_APP_ROLE
    connection = connections[using]
    if not role or connection.vendor != "postgresql":
        return
    quote = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute("SELECT current_user, current_database()")
        current_user, database = cursor.fetchone()
        if current_user == role:
            return  # the application migrating itself: there is no one to grant to (check --deploy says so)
        audit_tables = ", ".join(quote(table) for table in AUDIT_TABLES)
        for statement in (
            f"GRANT CONNECT ON DATABASE {quote(database)} TO {quote(role)}",
            f"GRANT USAGE ON SCHEMA public TO {quote(role)}",
            f"GRANT SELECT, INSERT, UPDATE, DELETE ON ALL TABLES IN SCHEMA public TO {quote(role)}",
            f"GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {quote(role)}",
            f"REVOKE UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER ON {audit_tables} FROM {quote(role)}",
            f"GRANT EXECUTE ON FUNCTION registry_audit_purge(bigint) TO {quote(role)}",
        ):
            cursor.execute(statement)


def audit_rewrites_allowed(using: str = "default") -> list[str]:
    """What the connected role may do to the audit events beyond INSERT and SELECT (owner rights included)."""
    connection = connections[using]
    if connection.vendor != "postgresql":
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_has_role(current_user, tableowner, 'USAGE') FROM pg_tables "
            "WHERE schemaname = 'public' AND tablename = 'registry_auditevent'")
        row = cursor.fetchone()
        if row is None:
            return []  # not migrated yet
        if row[0]:
            return ["OWNER"]
        cursor.execute("SELECT " + ", ".join(
            f"has_table_privilege('registry_auditevent', '{privilege}')" for privilege in REWRITES))
        return [privilege for privilege, allowed in zip(REWRITES, cursor.fetchone(), strict=True) if allowed]


@checks.register(checks.Tags.database, deploy=True)
def audit_trail_not_rewritable(app_configs, databases=None, **kwargs):
    """``check --deploy --database default``: on PostgreSQL the application's role cannot rewrite the trail."""
    if not databases:
        return []
    allowed = audit_rewrites_allowed()
    if not allowed:
        return []
    what = ("owns the audit events' table" if allowed == ["OWNER"]
            else f"may {', '.join(allowed)} the audit events")
    return [checks.Error(
        f"The application's database role {what}.",
        hint="Connect as a role that may only INSERT and SELECT them; run migrations as the owner with "
             "DATABASE_APP_ROLE set (docs/deployment.md, 'Two database roles').",
        id="registry.E004")]
