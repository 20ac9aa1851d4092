"""PostgreSQL-only search indexes for addresses and landlord names (see persons 0002)."""

from django.db import migrations

INDEXES = [
    ("property_address_trgm", "housing_property USING gin (address gin_trgm_ops)"),
    ("landlord_name_prefix", "housing_landlord USING btree (name varchar_pattern_ops)"),
    ("landlord_pinyin_prefix", "housing_landlord USING btree (name_initials varchar_pattern_ops)"),
    ("landlord_phone_trgm", "housing_landlord USING gin (phone gin_trgm_ops)"),
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
    dependencies = [("housing", "0001_initial"), ("persons", "0002_search_indexes_postgres")]
    operations = [migrations.RunPython(forward, backward)]
