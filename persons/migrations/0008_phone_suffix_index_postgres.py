"""PostgreSQL-only: a mobile number's last digits found from an index of the reversed number.

"Ends with 3850" was answered by the trigram index of phone numbers, whose candidates for four digits
are thousands of rows to recheck in a city of a million: 56 ms per search under load. ``reverse(phone)``
starting with "0583" is one short btree range: 2 ms. Nothing else used the trigram index, which every
registration had to update, so it goes.
"""

from django.db import migrations

REVERSED = "persons_person USING btree ((reverse(phone::text)) text_pattern_ops)"
TRIGRAMS = "persons_person USING gin (phone gin_trgm_ops)"


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS person_phone_reversed ON {REVERSED}")
    schema_editor.execute("DROP INDEX IF EXISTS person_phone_trgm")
    schema_editor.execute("ANALYZE persons_person")


def backward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute(f"CREATE INDEX IF NOT EXISTS person_phone_trgm ON {TRIGRAMS}")
    schema_editor.execute("DROP INDEX IF EXISTS person_phone_reversed")


class Migration(migrations.Migration):
    dependencies = [("persons", "0007_person_document_indexes")]
    operations = [migrations.RunPython(forward, backward)]
