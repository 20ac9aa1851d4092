"""PostgreSQL-only: a station's landlords by name, initials or pinyin, led by the station (the search box).

The search box looks for the ten first landlords by pinyin whose name, initials or pinyin start with what was
typed. The city-wide prefix indexes of 0002 read the whole city's matches and had no pinyin index, so a
pinyin search read the station's every landlord: 17 ms at five million persons (12,000 landlords a station).
"""

from django.db import migrations

from registry.migration_operations import postgresql_only

INDEXES = [
    ("landlord_station_name", "housing_landlord USING btree (station_id, name varchar_pattern_ops)"),
    ("landlord_station_initials", "housing_landlord USING btree (station_id, name_initials varchar_pattern_ops)"),
    ("landlord_station_pinyin", "housing_landlord USING btree (station_id, name_pinyin varchar_pattern_ops)"),
]


class Migration(migrations.Migration):
    dependencies = [("housing", "0015_search_entry_residences")]
    operations = [postgresql_only(
        "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {definition};" for name, definition in INDEXES)
        + "ANALYZE housing_landlord;",
        "".join(f"DROP INDEX IF EXISTS {name};" for name, _definition in INDEXES))]
