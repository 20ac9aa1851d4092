"""Writing many rows at once.

``bulk_update_rows`` replaces Django's ``QuerySet.bulk_update`` on hot paths (an import that moves a
thousand residents ends a thousand residences): Django writes ``SET f = CASE WHEN id=1 THEN .. WHEN id=2
..`` for every field, which took 7 s for 3,000 rows on PostgreSQL; one ``UPDATE .. FROM (VALUES ..)``
per batch takes milliseconds. SQLite (3.33 and later) and PostgreSQL run the same statement.

``insert_rows`` writes with ``COPY`` on PostgreSQL (psycopg2's ``copy_expert``, the rows written by the csv
module in C): for an import's thousand persons, residences, audit events and feed rows it cost the server
about a third of what multi-row INSERTs did (no statement of 20,000 parameters to build, parse and plan).
SQLite gets multi-row INSERTs.
"""

import csv
import datetime
import functools
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

from django.db import DEFAULT_DB_ALIAS, connections, models, router


def bulk_update_rows(model, objs: list, fields: list[str], *, batch_size: int = 1000) -> int:
    """Write ``fields`` of each object (by primary key), as ``bulk_update`` would; no signals are sent."""
    if not objs:
        return 0
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    meta = model._meta
    columns = [meta.get_field(name) for name in fields]
    table, key = quote(meta.db_table), quote(meta.pk.column)

    def value(position: int, field) -> str:
        # PostgreSQL types a VALUES column from its first rows; say the column's type, so NULLs fit too.
        reference = f"v.column{position}"
        return f"CAST({reference} AS {field.db_type(connection)})" if connection.vendor == "postgresql" else reference

    assignments = ", ".join(f"{quote(field.column)} = {value(n, field)}" for n, field in enumerate(columns, start=2))
    row = "(" + ", ".join(["%s"] * (len(columns) + 1)) + ")"
    updated = 0
    with connection.cursor() as cursor:
        for start in range(0, len(objs), batch_size):
            batch = objs[start:start + batch_size]
            params = []
            for obj in batch:
                params.append(obj.pk)
                params += [field.get_db_prep_save(getattr(obj, field.attname), connection) for field in columns]
            cursor.execute(
                f"UPDATE {table} SET {assignments} FROM (VALUES {', '.join([row] * len(batch))}) AS v "  # noqa: S608
                f"WHERE {table}.{key} = v.column1", params)
            updated += cursor.rowcount
    return updated


# Fields whose Python value goes to the database driver as it is (strings, numbers, booleans, None):
# ``get_db_prep_save`` only costs time for them. Exact types, so a subclass that prepares values
# (the encrypted document number) still goes through its own preparation.
_AS_IS = (models.CharField, models.TextField, models.IntegerField, models.BigIntegerField, models.SmallIntegerField,
          models.PositiveIntegerField, models.PositiveSmallIntegerField, models.BooleanField, models.AutoField,
          models.BigAutoField)


def _preparer(field, connection):
    if type(field) in _AS_IS or (isinstance(field, models.ForeignKey) and type(field.target_field) in _AS_IS):
        return None
    return lambda value: field.get_db_prep_save(value, connection)


# Fewer rows go in one INSERT: COPY needs a second round trip for new keys, and a desk registration is one row.
COPY_FROM = 100


def insert_rows(model, rows: list[dict], *, batch_size: int = 1000, returning: bool = False) -> list:
    """INSERT plain rows (field attname → value) in multi-row statements, without building model instances:
    for rows written by the thousand (an import's persons, residences, audit trail and change feed), where
    ``bulk_create``'s per-object work cost more than the database's. A field a row leaves out gets its default
    (None where it has none), evaluated once per call. Returns the new primary keys, in order, if asked
    (PostgreSQL and SQLite 3.35+ both return them). No signals are sent."""
    if not rows:
        return []
    connection = connections[router.db_for_write(model)]
    quote = connection.ops.quote_name
    given = set().union(*(row.keys() for row in rows))
    fields = [field for field in model._meta.concrete_fields
              if field.attname in given or (not field.primary_key and field.has_default())]
    defaults = {field.attname: field.get_default() for field in fields}  # for rows that leave a field out
    prepare = [(field.attname, _preparer(field, connection)) for field in fields]
    columns = ", ".join(quote(field.column) for field in fields)
    row_marks = "(" + ", ".join(["%s"] * len(fields)) + ")"
    table = quote(model._meta.db_table)
    suffix = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    if connection.features.max_query_params:
        batch_size = max(1, min(batch_size, connection.features.max_query_params // len(fields)))
    if len(rows) >= COPY_FROM and getattr(connection.Database, "__name__", "") == "psycopg2" and not any(
            field.null and isinstance(field, (models.CharField, models.TextField)) for field in fields):
        return _copy_rows(connection, model, rows, fields, defaults, returning=returning)
    keys = []
    with connection.cursor() as cursor:
        for start in range(0, len(rows), batch_size):
            batch = rows[start:start + batch_size]
            params = []
            for row in batch:
                for attname, prep in prepare:
                    value = row[attname] if attname in row else defaults[attname]
                    params.append(value if prep is None else prep(value))
            cursor.execute(f"INSERT INTO {table} ({columns}) VALUES {', '.join([row_marks] * len(batch))}"  # noqa: S608
                           + suffix, params)
            if returning:
                keys += [row[0] for row in cursor.fetchall()]
    return keys


def _copy_preparer(field, connection):
    """How a value goes into ``COPY … (FORMAT csv)``: as it is, or prepared as for an INSERT and then unwrapped
    from psycopg2's adapters (JSON as its text, an IP address as its string)."""
    if isinstance(field, models.JSONField):
        return lambda value: None if value is None else json.dumps(value, cls=field.encoder)
    if type(field) is models.DateField:  # a date is written as YYYY-MM-DD; the rest as usual
        return lambda value: value if type(value) is datetime.date else field.get_db_prep_save(value, connection)
    if type(field) is models.DateTimeField:  # an aware datetime is written with its offset; the rest as usual
        return lambda value: value if getattr(value, "tzinfo", None) is not None else field.get_db_prep_save(
            value, connection)
    prepare = _preparer(field, connection)
    if prepare is None:
        return None

    def unwrapped(value):
        value = prepare(value)
        if hasattr(value, "adapted") and hasattr(value, "dumps"):
            return value.dumps(value.adapted)
        return getattr(value, "addr", value)

    return unwrapped


def _copy_rows(connection, model, rows: list[dict], fields: list, defaults: dict, *, returning: bool) -> list:
    """``insert_rows`` through ``COPY … FROM STDIN`` in CSV format, written by the csv module: every string is
    quoted, and NULL is a quoted empty value in the nullable columns (``FORCE_NULL``), which hold no strings.
    New primary keys are drawn from the table's sequence first."""
    quote = connection.ops.quote_name
    meta = model._meta
    table = quote(meta.db_table)
    keys = []
    with connection.cursor() as cursor:
        if returning:
            keys = draw_keys(model, len(rows))
            rows = [{**row, meta.pk.attname: key} for row, key in zip(rows, keys, strict=True)]
            if meta.pk not in fields:
                fields = [meta.pk, *fields]
        attnames = [field.attname for field in fields]
        prepared = [(position, prep) for position, prep in enumerate(_copy_preparer(f, connection) for f in fields)
                    if prep is not None]
        buffer = io.StringIO()
        writer = csv.writer(buffer, quoting=csv.QUOTE_NONNUMERIC, lineterminator="\n")
        for row in rows:
            values = [row[name] if name in row else defaults[name] for name in attnames]
            for position, prep in prepared:
                values[position] = prep(values[position])
            writer.writerow(values)
        buffer.seek(0)
        nullable = ", ".join(quote(field.column) for field in fields if field.null)
        options = f"FORMAT csv, FORCE_NULL ({nullable})" if nullable else "FORMAT csv"
        columns = ", ".join(quote(field.column) for field in fields)
        sql = f"COPY {table} ({columns}) FROM STDIN WITH ({options})"
        writer = getattr(_background, "writer", None)
        if writer is not None and writer.connection is connection:  # the keys, if any, are already drawn
            writer.submit(sql, buffer)
            return keys
        with connection.wrap_database_errors:  # psycopg2's errors as Django's (an IntegrityError on a race)
            cursor.cursor.copy_expert(sql, buffer)
    return keys


_background = threading.local()


class _CopyWriter:
    """Runs COPYs one after another in a thread of its own, on the same connection (psycopg2 releases the
    interpreter lock while it waits for the server), and makes every other statement wait for them first."""

    def __init__(self, connection):
        self.connection, self.pending = connection, []
        self.pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="copy")

    def submit(self, sql: str, buffer) -> None:
        raw = self.connection.connection

        def copy():
            with raw.cursor() as cursor:
                cursor.copy_expert(sql, buffer)

        self.pending.append(self.pool.submit(copy))

    def wait(self) -> None:
        """Until every COPY handed over has finished; raises the first one's error, as Django's."""
        pending, self.pending = self.pending, []
        try:
            for future in pending:
                with self.connection.wrap_database_errors:
                    future.result()
        finally:
            for future in pending:
                future.cancel()

    def before_statement(self, execute, sql, params, many, context):
        self.wait()
        return execute(sql, params, many, context)


@contextmanager
def copies_in_background(using: str = DEFAULT_DB_ALIAS):
    """Inside a transaction that writes many batches (an import): ``insert_rows`` hands its COPYs to a thread
    and returns (new keys are drawn from the sequence first), so Python prepares the next batch while
    PostgreSQL writes this one. Any other statement on the connection, and leaving the block, waits for
    them and raises their error. Elsewhere, and on SQLite, nothing changes."""
    connection = connections[using]
    if getattr(connection.Database, "__name__", "") != "psycopg2" or getattr(_background, "writer", None):
        yield
        return
    connection.ensure_connection()
    writer = _CopyWriter(connection)
    _background.writer = writer
    try:
        with connection.execute_wrapper(writer.before_statement):
            yield
        writer.wait()
    finally:
        _background.writer = None
        writer.pool.shutdown(wait=True)  # on an error too: the connection must be idle before the rollback


@functools.cache
def _construction(model) -> tuple[tuple, frozenset]:
    fields = tuple((field.attname, field) for field in model._meta.concrete_fields)
    return fields, frozenset(name for name, _field in fields)


@functools.cache
def _relation(model, name: str):
    return model._meta.get_field(name)


def new_instance(model, values: dict, *, related: dict | None = None):
    """An unsaved instance, as ``model(**values)`` would build it, through Django's positional path: for rows
    built by the thousand (an import's persons and residences), where matching keywords and running the
    related descriptors cost as much again as the rest. ``values`` by attname (``station_id``); a field left
    out gets its default. ``related``: a foreign key's name → its (saved) object, set and cached on the
    instance as assigning it would. ``post_init`` is sent as usual."""
    fields, names = _construction(model)
    if related:
        values = values.copy()
        for name, target in related.items():
            values[_relation(model, name).attname] = target.pk
    if not values.keys() <= names:
        raise TypeError(f"{model.__name__} has no field(s) {', '.join(sorted(values.keys() - names))}")
    obj = model(*[values[name] if name in values else field.get_default() for name, field in fields])
    if related:
        for name, target in related.items():
            _relation(model, name).set_cached_value(obj, target)
    return obj


def insert_objects(model, objs: list) -> None:
    """``bulk_create`` for unsaved instances of a model with an automatic key, through ``insert_rows``: the
    fields' own ``pre_save`` fills in ``auto_now`` dates, and each object gets its new primary key (unless
    every object has one already, from ``draw_keys``)."""
    if not objs:
        return
    keyed = all(obj.pk is not None for obj in objs)
    fields = [field for field in model._meta.concrete_fields if keyed or not field.primary_key]
    # Most fields' pre_save just reads the attribute: read those straight from the objects.
    own = [field for field in fields if type(field).pre_save is not models.Field.pre_save]
    plain = [field.attname for field in fields if type(field).pre_save is models.Field.pre_save]
    rows = []
    for obj in objs:
        values = obj.__dict__
        row = {name: values[name] if name in values else getattr(obj, name) for name in plain}
        for field in own:
            row[field.attname] = field.pre_save(obj, True)
        rows.append(row)
    keys = insert_rows(model, rows, returning=not keyed)
    for obj, key in zip(objs, keys if not keyed else [obj.pk for obj in objs], strict=True):
        obj.pk = key
        obj._state.adding, obj._state.db = False, router.db_for_write(model)


def draw_keys(model, count: int) -> list | None:
    """``count`` new primary keys from the table's sequence, for rows to be inserted later in the transaction
    (so that no read has to wait for an earlier COPY); None where rows get their keys as they are inserted
    (SQLite, and batches too small for COPY)."""
    connection = connections[router.db_for_write(model)]
    if count < COPY_FROM or getattr(connection.Database, "__name__", "") != "psycopg2":
        return None
    with connection.cursor() as cursor:
        cursor.execute("SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)",
                       [connection.ops.quote_name(model._meta.db_table), model._meta.pk.column, count])
        return sorted(row[0] for row in cursor.fetchall())
