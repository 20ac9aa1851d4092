"""PostgreSQL-only indexes for the person search at city scale (1M persons; docs/performance.md).

* ``person_name_cover``: name prefix search (one-character surnames match 7% of a city) read from the
  index alone: the registering station and the id for the scope check, the pinyin for the order.
* ``person_name_from2`` / ``person_name_from3``: a two-character name fragment that is not a prefix
  (the given name of 王秀英, 阳娜 in 欧阳娜娜) starts at the second or third character in all but long
  names; trigram indexes cannot serve two characters, so these b-trees on the name's tail do.
* ``person_name_long``: the few names of five characters or more (transliterated names), where such a
  fragment can start further in; the search reads just these, from the index.
* ``residence_station_person``: the scope check of a station's staff ("lived at this station") as an
  index-only scan, which PostgreSQL hashes once per query instead of probing per candidate. It indexes
  housing's table, but only the person search needs it.

SQLite keeps the plain indexes; the search's conditions are the same ORM expressions on both.
"""

from django.db import migrations

INDEXES = [
    ("person_name_cover", "persons_person USING btree (name text_pattern_ops) "
                          "INCLUDE (registered_station_id, id, name_pinyin)"),
    ("person_name_from2", "persons_person USING btree ((SUBSTRING(name, 2)::text) text_pattern_ops)"),
    ("person_name_from3", "persons_person USING btree ((SUBSTRING(name, 3)::text) text_pattern_ops)"),
    ("person_name_long", "persons_person USING btree (name) INCLUDE (id) WHERE LENGTH(name) >= 5"),
    ("residence_station_person", "housing_residence USING btree (station_id, person_id)"),
]


# Without statistics on the name's length the planner guesses a third of all persons are long-named
# (1% are), costs the two-character search at millions and switches on JIT compilation for ~200 ms.
STATISTICS = "CREATE STATISTICS IF NOT EXISTS person_name_length ON (LENGTH(name)) FROM persons_person"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    for name, definition in INDEXES:
        schema_editor.execute(f"CREATE INDEX IF NOT EXISTS {name} ON {definition}")
    schema_editor.execute(STATISTICS)
    schema_editor.execute("ANALYZE persons_person")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("DROP STATISTICS IF EXISTS person_name_length")
    for name, _definition in INDEXES:
        schema_editor.execute(f"DROP INDEX IF EXISTS {name}")


class Migration(migrations.Migration):
    dependencies = [("persons", "0003_document_part_hashes"), ("housing", "0007_residence_status_without_pending")]
    operations = [migrations.RunPython(forward, backward)]
