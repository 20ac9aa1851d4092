"""On PostgreSQL the retention purge of old audit events is a function of the owner role (SECURITY DEFINER):
the application's role may only INSERT and SELECT the audit tables, and calls this to remove the events at the
start of the chain, with their seals (registry/audit_chain.py, registry/db_roles.py). The trigger of 0002 still
refuses any event younger than 183 days, inside the function too."""

from django.db import migrations

from registry.migration_operations import postgresql_only

FORWARD = """
CREATE OR REPLACE FUNCTION registry_audit_purge(through bigint) RETURNS bigint
LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, public AS $$
DECLARE
    kept_digest varchar(64);
    removed bigint;
BEGIN
    SELECT digest INTO kept_digest FROM registry_auditseal WHERE "position" = through;
    IF kept_digest IS NULL THEN
        RAISE EXCEPTION USING MESSAGE = 'no audit seal at position ' || through;
    END IF;
    DELETE FROM registry_auditevent
        WHERE id IN (SELECT event_id FROM registry_auditseal WHERE "position" <= through);
    GET DIAGNOSTICS removed = ROW_COUNT;
    UPDATE registry_auditchainstart SET "position" = through, digest = kept_digest;
    DELETE FROM registry_auditseal WHERE "position" <= through;
    RETURN removed;
END;
$$;
REVOKE ALL ON FUNCTION registry_audit_purge(bigint) FROM PUBLIC;
"""

BACKWARD = "DROP FUNCTION IF EXISTS registry_audit_purge(bigint);"


class Migration(migrations.Migration):
    dependencies = [("registry", "0008_audit_chain")]
    operations = [postgresql_only(FORWARD, BACKWARD)]
