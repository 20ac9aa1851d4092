"""Operations that the apps' migrations share."""

from django.db import migrations

from .validators import without_hidden_characters


def remove_hidden_characters(app_label: str, model_name: str, *fields: str) -> migrations.RunPython:
    """Take the characters ``VisibleTextValidator`` refuses out of rows stored before it existed, so that a later
    save of such a row (which runs ``full_clean()``) is not refused for a character nobody can see.

    Reads the fields of every row once, in chunks, and writes only the rows that change."""

    def forwards(apps, schema_editor):
        model = apps.get_model(app_label, model_name)
        rows = model._base_manager.using(schema_editor.connection.alias)
        changed = []
        for pk, *values in rows.values_list("pk", *fields).iterator(chunk_size=5000):
            cleaned = [without_hidden_characters(value) if value else value for value in values]
            if cleaned != values:
                changed.append(model(pk=pk, **dict(zip(fields, cleaned, strict=True))))
        rows.bulk_update(changed, fields, batch_size=500)

    return migrations.RunPython(forwards, migrations.RunPython.noop, elidable=True)


def postgresql_only(forward_sql: str, backward_sql: str) -> migrations.RunPython:
    """SQL that only PostgreSQL runs (triggers, functions, grants): SQLite, the zero-setup default, has no such
    thing and skips it."""

    def forwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(forward_sql)

    def backwards(apps, schema_editor):
        if schema_editor.connection.vendor == "postgresql" and backward_sql:
            schema_editor.execute(backward_sql)

    return migrations.RunPython(forwards, backwards)


def per_engine(*, postgresql: tuple[str, str], sqlite: tuple[list[str], list[str]]) -> migrations.RunPython:
    """SQL each engine needs in its own dialect (triggers): ``(forward, backward)`` for each. PostgreSQL runs
    its script at once; SQLite takes one statement at a time."""

    def run(schema_editor, index):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(postgresql[index])
        elif schema_editor.connection.vendor == "sqlite":
            for statement in sqlite[index]:
                schema_editor.execute(statement)

    return migrations.RunPython(lambda apps, schema_editor: run(schema_editor, 0),
                                lambda apps, schema_editor: run(schema_editor, 1))
