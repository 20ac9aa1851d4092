"""PostgreSQL-only: covering indexes for each branch of the person search (docs/performance.md).

The search for a two-character name fragment and for pinyin runs one query per branch (a UNION of
ids, see ``persons.selectors._any_of``), each narrowed to the user's scope. With the registering
station and the id in the index, each branch is an index-only range scan; only the matches in scope
are read from the table. These replace 0004's name-tail and long-name indexes, which lacked them.
"""

from django.db import migrations

INDEXES = [
    ("person_initials_cover", "persons_person USING btree (name_initials text_pattern_ops) "
                              "INCLUDE (registered_station_id, id)"),
    ("person_pinyin_cover", "persons_person USING btree (name_pinyin text_pattern_ops) "
                            "INCLUDE (registered_station_id, id, name_initials)"),
    ("person_name_from2_cover", "persons_person USING btree ((SUBSTRING(name, 2)::text) text_pattern_ops) "
                                "INCLUDE (registered_station_id, id)"),
    ("person_name_from3_cover", "persons_person USING btree ((SUBSTRING(name, 3)::text) text_pattern_ops) "
                                "INCLUDE (registered_station_id, id)"),
    ("person_name_long_cover", "persons_person USING btree (name) INCLUDE (registered_station_id, id) "
                               "WHERE LENGTH(name) >= 5"),
]
REPLACED = {
    "person_name_from2": "persons_person USING btree ((SUBSTRING(name, 2)::text) text_pattern_ops)",
    "person_name_from3": "persons_person USING btree ((SUBSTRING(name, 3)::text) text_pattern_ops)",
    "person_name_long": "persons_person USING btree (name) INCLUDE (id) WHERE LENGTH(name) >= 5",
}


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name in REPLACED:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")
    schema_editor.execute("ANALYZE persons_person")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in REPLACED.items():
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    for name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("persons", "0004_search_scope_indexes_postgres")]
    operations = [migrations.RunPython(forward, backward)]
