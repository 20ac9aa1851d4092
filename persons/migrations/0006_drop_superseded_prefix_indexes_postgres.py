"""PostgreSQL-only: drop the prefix indexes of 0002 that 0004-0005's covering indexes supersede.

``person_name_cover``, ``person_pinyin_cover`` and ``person_initials_cover`` serve the same prefix
ranges (``text_pattern_ops`` and ``varchar_pattern_ops`` order a varchar alike) and more; every index
on the person table is paid for by each registration and import row.
"""

from django.db import migrations

SUPERSEDED = {
    "person_name_prefix": "persons_person USING btree (name varchar_pattern_ops)",
    "person_pinyin_prefix": "persons_person USING btree (name_pinyin varchar_pattern_ops)",
    "person_initials_prefix": "persons_person USING btree (name_initials varchar_pattern_ops)",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name in SUPERSEDED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in SUPERSEDED.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")


class Migration(migrations.Migration):
    dependencies = [("persons", "0005_search_branch_indexes_postgres")]
    operations = [migrations.RunPython(forward, backward)]
