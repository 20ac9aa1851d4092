"""PostgreSQL-only search indexes: pattern-ops b-trees for prefix search (1–2 character surnames,
pinyin, initials) and trigram GIN indexes for infix search (names, phone and document tails).
SQLite keeps the plain b-tree indexes from 0001."""

from django.db import migrations

INDEXES = [
    ("person_name_prefix", "persons_person USING btree (name varchar_pattern_ops)"),
    ("person_pinyin_prefix", "persons_person USING btree (name_pinyin varchar_pattern_ops)"),
    ("person_initials_prefix", "persons_person USING btree (name_initials varchar_pattern_ops)"),
    ("person_name_trgm", "persons_person USING gin (name gin_trgm_ops)"),
    ("person_phone_trgm", "persons_person USING gin (phone gin_trgm_ops)"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("persons", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
