"""The person list's filters read a station's matching residences first, newest first (``persons.filtersets``):
the persons of those by status and verification date, and those by move-in date, each from an index alone.
``residence_due_idx`` holds the first one's keys without the person, so every match was read from the table.
"""

from django.db import migrations

from registry.migration_operations import postgresql_only

INDEXES = [
    ("residence_due_person", "(station_id, status, next_verification_due) INCLUDE (person_id)"),
    ("residence_station_start", "(station_id, start_date) INCLUDE (person_id)"),
]


class Migration(migrations.Migration):

    dependencies = [
        ("housing", "0017_landlord_landlord_passport_tail_idx"),
    ]

    operations = [
        postgresql_only(
            "SET LOCAL maintenance_work_mem = '512MB';"
            + "".join(f"CREATE INDEX IF NOT EXISTS {name} ON housing_residence USING btree {definition};"
                      for name, definition in INDEXES),
            "".join(f"DROP INDEX IF EXISTS {name};" for name, _definition in INDEXES)),
    ]
