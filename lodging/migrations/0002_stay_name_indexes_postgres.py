"""PostgreSQL-only: the station's guests by name, pinyin or initials (the ledger's search and the search box).

Without them a search for a rare name walked the station's every stay, newest first, looking for ten
matches: 256 ms at five million stays. A common surname still walks (ten matches come early); the planner
chooses between the two.
"""

from django.db import migrations

INDEXES = [
    ("stay_name_idx", "lodging_stay USING btree (station_id, name text_pattern_ops)"),
    ("stay_initials_idx", "lodging_stay USING btree (station_id, name_initials text_pattern_ops)"),
    ("stay_pinyin_idx", "lodging_stay USING btree (station_id, name_pinyin text_pattern_ops)"),
]


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    schema_editor.execute("ANALYZE lodging_stay")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("lodging", "0001_initial")]
    operations = [migrations.RunPython(forward, backward)]
