# Free text refuses bidi controls and invisible characters (registry.validators); rows stored before lose them.

import registry.validators
from django.db import migrations, models

from registry.migration_operations import remove_hidden_characters


class Migration(migrations.Migration):

    dependencies = [
        ('patrol', '0002_propertyrating_verificationrequest'),
    ]

    operations = [
        migrations.AlterField(
            model_name='inspection',
            name='notes',
            field=models.TextField(blank=True, validators=[registry.validators.VisibleTextValidator('notes')], verbose_name='notes'),
        ),
        migrations.AlterField(
            model_name='residencepermit',
            name='number',
            field=models.CharField(max_length=32, unique=True, validators=[registry.validators.VisibleTextValidator('permit number')], verbose_name='permit number'),
        ),
        migrations.AlterField(
            model_name='visit',
            name='note',
            field=models.TextField(blank=True, validators=[registry.validators.VisibleTextValidator('note')], verbose_name='note'),
        ),
        remove_hidden_characters('patrol', 'Visit', 'note'),
        remove_hidden_characters('patrol', 'Inspection', 'notes'),
        remove_hidden_characters('patrol', 'ResidencePermit', 'number'),
    ]
