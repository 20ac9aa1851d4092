# Free text refuses bidi controls and invisible characters (registry.validators); rows stored before lose them.

import registry.validators
from django.db import migrations, models

from registry.migration_operations import remove_hidden_characters


class Migration(migrations.Migration):

    dependencies = [
        ('portal', '0002_submission_anonymised_at'),
    ]

    operations = [
        migrations.AlterField(
            model_name='ratingappeal',
            name='answer',
            field=models.TextField(blank=True, validators=[registry.validators.VisibleTextValidator('answer')], verbose_name='answer'),
        ),
        migrations.AlterField(
            model_name='ratingappeal',
            name='comment',
            field=models.TextField(validators=[registry.validators.VisibleTextValidator('comment')], verbose_name='comment'),
        ),
        migrations.AlterField(
            model_name='submission',
            name='rejection_reason',
            field=models.TextField(blank=True, validators=[registry.validators.VisibleTextValidator('reason for rejection')], verbose_name='reason for rejection'),
        ),
        remove_hidden_characters('portal', 'Submission', 'rejection_reason'),
        remove_hidden_characters('portal', 'RatingAppeal', 'comment', 'answer'),
    ]
