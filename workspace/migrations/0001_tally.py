"""The dashboards' kept figures (``workspace.models.Tally``): the table, its triggers on residences, owners'
reports, properties and ratings (built by ``workspace/tallies.py`` for the engine), and a first fill."""

from django.db import migrations, models

from registry.migration_operations import per_engine
from workspace.tallies import fill, postgresql_triggers, sqlite_triggers


def fill_tallies(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        fill(cursor, schema_editor.connection.vendor)


class Migration(migrations.Migration):

    initial = True

    dependencies = [
        ('housing', '0017_landlord_landlord_passport_tail_idx'),
        ('patrol', '0004_receipt'),
        ('portal', '0003_visible_text'),
    ]

    operations = [
        migrations.CreateModel(
            name='Tally',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('station_id', models.IntegerField(editable=False)),
                ('kind', models.CharField(editable=False, max_length=12)),
                ('day', models.DateField(editable=False)),
                ('label', models.CharField(editable=False, max_length=40)),
                ('n', models.IntegerField(editable=False)),
            ],
            options={
                'default_permissions': (),
                'indexes': [models.Index(fields=['station_id', 'kind', 'day'], name='tally_station_kind_day')],
            },
        ),
        per_engine(postgresql=postgresql_triggers(), sqlite=sqlite_triggers()),
        migrations.RunPython(fill_tallies, migrations.RunPython.noop),
    ]
