"""A station's search entries in the person list's name order (pinyin, then person), for PostgreSQL.

The list's filters for a station's staff walk the station's entries in the page's order and test each person
(``persons.filtersets``): newest first is ``search_entry_station_person`` read backwards, the name order this.
``search_entry_pinyin`` holds the same keys with ``text_pattern_ops``, which serves prefixes but no ORDER BY.
"""

from django.db import migrations

from registry.migration_operations import postgresql_only


class Migration(migrations.Migration):

    dependencies = [
        ("persons", "0011_person_person_passport_tail_idx"),
    ]

    operations = [
        postgresql_only(
            "SET LOCAL maintenance_work_mem = '512MB';"
            "CREATE INDEX IF NOT EXISTS search_entry_station_pinyin "
            "ON persons_searchentry USING btree (station_id, name_pinyin, person_id);",
            "DROP INDEX IF EXISTS search_entry_station_pinyin;"),
    ]
