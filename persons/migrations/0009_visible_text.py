# Free text refuses bidi controls and invisible characters (registry.validators); rows stored before lose them.

import registry.validators
from django.db import migrations, models

from registry.migration_operations import remove_hidden_characters


class Migration(migrations.Migration):

    dependencies = [
        ('persons', '0008_phone_suffix_index_postgres'),
    ]

    operations = [
        migrations.AlterField(
            model_name='employer',
            name='address',
            field=models.CharField(blank=True, max_length=200, validators=[registry.validators.VisibleTextValidator('address')], verbose_name='address'),
        ),
        migrations.AlterField(
            model_name='employer',
            name='name',
            field=models.CharField(max_length=200, validators=[registry.validators.VisibleTextValidator('name')], verbose_name='name'),
        ),
        migrations.AlterField(
            model_name='employment',
            name='job_title',
            field=models.CharField(blank=True, max_length=100, validators=[registry.validators.VisibleTextValidator('job title')], verbose_name='job title'),
        ),
        migrations.AlterField(
            model_name='person',
            name='hukou_address',
            field=models.CharField(blank=True, max_length=200, validators=[registry.validators.VisibleTextValidator('place of household registration')], verbose_name='place of household registration'),
        ),
        migrations.AlterField(
            model_name='person',
            name='occupation',
            field=models.CharField(blank=True, max_length=100, validators=[registry.validators.VisibleTextValidator('occupation')], verbose_name='occupation'),
        ),
        remove_hidden_characters('persons', 'Person', 'hukou_address', 'occupation'),
        remove_hidden_characters('persons', 'Employer', 'name', 'address'),
        remove_hidden_characters('persons', 'Employment', 'job_title'),
    ]
