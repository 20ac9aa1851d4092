"""On PostgreSQL the database itself refuses to edit audit events, or delete young ones."""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION registry_audit_guard() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'UPDATE' THEN
        RAISE EXCEPTION 'audit events are never edited' USING ERRCODE = 'insufficient_privilege';
    END IF;
    IF OLD.at > now() - interval '183 days' THEN
        RAISE EXCEPTION 'audit events younger than 183 days are never deleted'
            USING ERRCODE = 'insufficient_privilege';
    END IF;
    RETURN OLD;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS registry_auditevent_guard ON registry_auditevent;
CREATE TRIGGER registry_auditevent_guard BEFORE UPDATE OR DELETE ON registry_auditevent
    FOR EACH ROW EXECUTE FUNCTION registry_audit_guard();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS registry_auditevent_guard ON registry_auditevent;
DROP FUNCTION IF EXISTS registry_audit_guard();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD)


class Migration(migrations.Migration):
    dependencies = [("registry", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
