# Free text refuses bidi controls and invisible characters (registry.validators); rows stored before lose them.

import registry.validators
from django.db import migrations, models

from registry.migration_operations import remove_hidden_characters


class Migration(migrations.Migration):

    dependencies = [
        ('registry', '0009_audit_purge_function'),
    ]

    operations = [
        migrations.AlterField(
            model_name='apitoken',
            name='name',
            field=models.CharField(max_length=100, validators=[registry.validators.VisibleTextValidator('name')], verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='community',
            name='name',
            field=models.CharField(max_length=100, validators=[registry.validators.VisibleTextValidator('name')], verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='district',
            name='name',
            field=models.CharField(max_length=100, validators=[registry.validators.VisibleTextValidator('name')], verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='station',
            name='name',
            field=models.CharField(max_length=100, validators=[registry.validators.VisibleTextValidator('name')], verbose_name='name'),
        ),
        remove_hidden_characters('registry', 'District', 'name'),
        remove_hidden_characters('registry', 'Station', 'name'),
        remove_hidden_characters('registry', 'Community', 'name'),
        remove_hidden_characters('registry', 'ApiToken', 'name'),
    ]
