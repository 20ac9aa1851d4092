"""Residences of persons registered at another station, marked and indexed for the station scope.

A station's persons are those registered there or with a residence there. Only residences at a station
other than the person's own add anyone to the first test; marking them lets the scope's second test read
a station's few thousand such entries instead of all its residences (docs/performance.md).
"""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('housing', '0008_property_station_address_index'),
        ('persons', '0007_person_document_indexes'),
        ('registry', '0005_changelog_copies'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name='residence',
            name='registered_elsewhere',
            field=models.BooleanField(db_default=True, default=True, editable=False),
        ),
        migrations.RunSQL(
            "UPDATE housing_residence SET registered_elsewhere = false WHERE station_id = "
            "(SELECT registered_station_id FROM persons_person WHERE persons_person.id = housing_residence.person_id)",
            migrations.RunSQL.noop,
        ),
        migrations.AddIndex(
            model_name='residence',
            index=models.Index(condition=models.Q(('registered_elsewhere', True)), fields=['station', 'person'], name='residence_elsewhere_idx'),
        ),
    ]
