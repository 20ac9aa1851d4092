# Free text refuses bidi controls and invisible characters (registry.validators); rows stored before lose them.

import registry.validators
from django.db import migrations, models

from registry.migration_operations import remove_hidden_characters


class Migration(migrations.Migration):

    dependencies = [
        ('housing', '0009_residence_registered_elsewhere'),
    ]

    operations = [
        migrations.AlterField(
            model_name='landlord',
            name='address',
            field=models.CharField(blank=True, max_length=200, validators=[registry.validators.VisibleTextValidator('address')], verbose_name='address'),
        ),
        migrations.AlterField(
            model_name='property',
            name='address',
            field=models.CharField(max_length=200, validators=[registry.validators.VisibleTextValidator('address')], verbose_name='address'),
        ),
        migrations.AlterField(
            model_name='residence',
            name='note',
            field=models.TextField(blank=True, validators=[registry.validators.VisibleTextValidator('note')], verbose_name='note'),
        ),
        migrations.AlterField(
            model_name='unit',
            name='label',
            field=models.CharField(max_length=50, validators=[registry.validators.VisibleTextValidator('unit')], verbose_name='unit'),
        ),
        remove_hidden_characters('housing', 'Landlord', 'address'),
        remove_hidden_characters('housing', 'Property', 'address'),
        remove_hidden_characters('housing', 'Unit', 'label'),
        remove_hidden_characters('housing', 'Residence', 'note'),
    ]
