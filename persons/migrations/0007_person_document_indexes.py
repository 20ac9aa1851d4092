"""Fewer indexes on the person table, which every registration and import row pays for.

The document hash was indexed three times (the unique constraint, ``db_index`` and its
``varchar_pattern_ops`` twin on PostgreSQL) and each part hash twice. The unique constraint now leads
with the hash, so it serves lookups by hash alone; the part hashes keep one plain index each.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('persons', '0006_drop_superseded_prefix_indexes_postgres'),
        ('registry', '0005_changelog_copies'),
    ]

    operations = [
        migrations.RemoveConstraint(
            model_name='person',
            name='person_unique_document',
        ),
        migrations.AlterField(
            model_name='person',
            name='document_hash',
            field=models.CharField(editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='person',
            name='document_head_hash',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AlterField(
            model_name='person',
            name='document_tail_hash',
            field=models.CharField(blank=True, editable=False, max_length=64),
        ),
        migrations.AddIndex(
            model_name='person',
            index=models.Index(fields=['document_head_hash'], name='person_document_head_idx'),
        ),
        migrations.AddIndex(
            model_name='person',
            index=models.Index(fields=['document_tail_hash'], name='person_document_tail_idx'),
        ),
        migrations.AddConstraint(
            model_name='person',
            constraint=models.UniqueConstraint(fields=('document_hash', 'document_type'), name='person_unique_document'),
        ),
    ]
