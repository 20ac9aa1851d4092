"""PostgreSQL-only: the station's guests by name, pinyin or initials (the ledger's search and the search box).

Without them a search for a rare name walked the station's every stay, newest first, looking for ten
matches: 256 ms at five million stays. A common surname still walks (ten matches come early); the planner
chooses between the two.
"""

from django.db import migrations

from registry.migration_operations import postgresql_only

INDEXES = [
    ("stay_name_idx", "lodging_stay USING btree (station_id, name text_pattern_ops)"),
    ("stay_initials_idx", "lodging_stay USING btree (station_id, name_initials text_pattern_ops)"),
    ("stay_pinyin_idx", "lodging_stay USING btree (station_id, name_pinyin text_pattern_ops)"),
]


class Migration(migrations.Migration):
    dependencies = [("lodging", "0001_initial")]
    operations = [postgresql_only(
        "".join(f"CREATE INDEX IF NOT EXISTS {name} ON {definition};" for name, definition in INDEXES)
        + "ANALYZE lodging_stay;",
        "".join(f"DROP INDEX IF EXISTS {name};" for name, _definition in INDEXES))]
