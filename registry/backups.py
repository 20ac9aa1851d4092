"""Backups of the database without the keys: ``bin/backup`` and ``bin/restore`` (docs/deployment.md, "Backups").

PostgreSQL: ``pg_dump --format=custom`` (one snapshot, whatever the application does meanwhile) and
``pg_restore --no-owner`` in a single transaction. SQLite: the online backup API, which copies a consistent
snapshot while the application runs, and a rename into place. The credentials come from the settings
(``DATABASE_URL``) and reach the PostgreSQL tools through their environment, never their command line.
Nothing here reads or writes the key files: a dump holds document numbers as ciphertext only.
"""

import contextlib
import os
import shutil
import sqlite3
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from django.apps import apps
from django.conf import settings
from django.db import DatabaseError, connection
from django.db.backends.postgresql.client import DatabaseClient
from django.db.models.functions import Length
from django.utils import timezone

from .crypto import EncryptedCharField

POSTGRESQL, SQLITE = "postgresql", "sqlite"
NAMES = {POSTGRESQL: "PostgreSQL", SQLITE: "SQLite"}
KINDS = {POSTGRESQL: "PostgreSQL custom-format dump (pg_dump -Fc)", SQLITE: "SQLite database file (online backup)"}
SUFFIXES = {POSTGRESQL: ".dump", SQLITE: ".sqlite3"}
# The first bytes of each kind of dump, so that a restore can say what it was given.
MAGIC = {POSTGRESQL: b"PGDMP", SQLITE: b"SQLite format 3\x00"}
# Each key setting and its file under var/ in the zero-setup default (FIELD_HASH_KEY then is the encryption key).
KEY_SETTINGS = (("SECRET_KEY", "secret_key"), ("FIELD_ENCRYPTION_KEYS", "field_encryption.key"),
                ("FIELD_HASH_KEY", None))


class BackupError(Exception):
    """A backup or restore that cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class Dump:
    kind: str
    path: Path
    size: int
    database: str
    tables: int

    @property
    def description(self) -> str:
        return KINDS[self.kind]


def database_kind() -> str:
    if connection.vendor == "postgresql":
        return POSTGRESQL
    if connection.vendor == "sqlite" and not connection.is_in_memory_db():
        return SQLITE
    raise BackupError(f"backups support PostgreSQL and a SQLite file, not this database ({connection.vendor})")


def database_label() -> str:
    db = connection.settings_dict
    if database_kind() == SQLITE:
        return str(db["NAME"])
    return f"{db['NAME']} on {db.get('HOST') or 'the local socket'}:{db.get('PORT') or 5432}"


def keys_note() -> str:
    """Where this installation's keys are, and where they belong, for the line backups and restores print."""
    places = []
    for name, filename in KEY_SETTINGS:
        if os.environ.get(f"{name}_FILE"):
            places.append(f"{name}_FILE={os.environ[f'{name}_FILE']}")
        elif os.environ.get(name):
            places.append(f"{name} from the environment")
        elif filename:
            places.append(f"{name} in {Path(settings.VAR_DIR) / filename}")
        else:
            places.append(f"{name}: the last of FIELD_ENCRYPTION_KEYS")
    return (f"The keys are not in it ({'; '.join(places)}): keep them in a secrets store, apart from the dumps. "
            "Without them no document number in a dump can be read.")


def default_path(directory: Path) -> Path:
    stamp = timezone.localtime().strftime("%Y%m%d-%H%M%S")
    kind = database_kind()
    return directory / f"registry-{kind}-{stamp}{SUFFIXES[kind]}"


# --- backup --------------------------------------------------------------------------------------

def backup_write(*, path: Path) -> Dump:
    """Write a dump of the configured database to ``path`` (mode 0600, never over an existing file)."""
    kind = database_kind()
    path = Path(path).absolute()
    if path.exists():
        raise BackupError(f"{path} exists; a backup never overwrites a file: choose another name")
    if not path.parent.is_dir():
        raise BackupError(f"{path.parent} is not a folder")
    with _private_temp(path.parent) as temp:
        tables = _sqlite_backup(temp) if kind == SQLITE else _pg_dump(temp)
        _publish(temp, path)
    return Dump(kind=kind, path=path, size=path.stat().st_size, database=database_label(), tables=tables)


def _sqlite_backup(temp: Path) -> int:
    source_path = Path(connection.settings_dict["NAME"])
    if not source_path.exists():
        raise BackupError(f"there is no database at {source_path} (nothing to back up)")
    # mode=rw: never create a database where there was none. The backup API copies in one step (pages=-1)
    # under one read transaction: with WAL the application goes on writing, and none of it is half in the copy.
    source = sqlite3.connect(f"file:{quote(str(source_path))}?mode=rw", uri=True, timeout=30)
    target = sqlite3.connect(temp)
    try:
        source.backup(target)
        # The copy is one self-contained file, whatever journal mode the source had.
        target.execute("PRAGMA journal_mode=DELETE")
        return _sqlite_verified(target, temp)
    except sqlite3.Error as exc:
        raise BackupError(f"SQLite backup of {source_path} failed: {exc}")
    finally:
        target.close()
        source.close()


def _sqlite_verified(db: sqlite3.Connection, path: Path) -> int:
    """The number of tables of a registry database that passes SQLite's check; else a BackupError."""
    result = db.execute("PRAGMA quick_check").fetchone()[0]
    if result != "ok":
        raise BackupError(f"{path} fails SQLite's check: {result}")
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    if "django_migrations" not in names:
        raise BackupError(f"{path} is a SQLite database but not the registry's (it has no django_migrations table)")
    return len([name for name in names if not name.startswith("sqlite_")])


def _pg_dump(temp: Path) -> int:
    with open(temp, "wb") as out:
        _pg_run(["pg_dump", "--format=custom", "--no-password"], stdout=out, what="pg_dump")
        out.flush()
        os.fsync(out.fileno())
    # Read the archive back: a dump pg_restore cannot list is no backup.
    listing = _pg_run(["pg_restore", "--list", str(temp)], stdout=subprocess.PIPE, what="pg_restore --list")
    return sum(1 for line in listing.splitlines() if " TABLE DATA " in line)


# --- restore -------------------------------------------------------------------------------------

def dump_kind(path: Path) -> str:
    path = Path(path)
    if not path.is_file():
        raise BackupError(f"{path} is not a file")
    with open(path, "rb") as dump:
        head = dump.read(16)
    for kind, magic in MAGIC.items():
        if head.startswith(magic):
            return kind
    raise BackupError(f"{path} is neither a PostgreSQL custom-format dump nor a SQLite database")


def restore_check(*, path: Path) -> str:
    """Refuse unless ``path`` is a dump of the configured database's kind and that database is empty."""
    kind, dump = database_kind(), dump_kind(path)
    if dump != kind:
        raise BackupError(f"{path} is a {KINDS[dump]}, but DATABASE_URL names a {NAMES[kind]} database: restore "
                          f"it into a {NAMES[dump]} one (a dump cannot change its database's kind)")
    try:
        tables = _sqlite_tables(Path(connection.settings_dict["NAME"])) if kind == SQLITE else _pg_tables()
    except DatabaseError as exc:
        raise BackupError(f"cannot reach the database {database_label()}: {exc}".strip())
    if tables:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        where = ("move that file away, or point DATABASE_URL at a new one (sqlite:////path/to/file)"
                 if kind == SQLITE else "create a new one (createdb -O <role> <name>) and point DATABASE_URL at it")
        raise BackupError(f"the database {database_label()} already has {len(tables)} tables ({shown}); a restore "
                          f"goes into an empty database only, and never over one: {where}")
    return kind


def restore_read(*, path: Path) -> Dump:
    """Restore a dump written by :func:`backup_write` into the configured, empty database."""
    path = Path(path).absolute()
    kind = restore_check(path=path)
    tables = _sqlite_restore(path) if kind == SQLITE else _pg_restore(path)
    return Dump(kind=kind, path=path, size=path.stat().st_size, database=database_label(), tables=tables)


def _sqlite_tables(path: Path) -> list[str]:
    if not path.exists() or path.stat().st_size == 0:
        return []
    try:
        db = sqlite3.connect(f"file:{quote(str(path))}?mode=ro", uri=True, timeout=30)
        try:
            rows = db.execute("SELECT name FROM sqlite_master WHERE type IN ('table', 'view') "
                              "AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name").fetchall()
        finally:
            db.close()
    except sqlite3.Error as exc:
        raise BackupError(f"{path} exists and cannot be read as a SQLite database ({exc}); move it away first")
    return [row[0] for row in rows]


def _sqlite_restore(dump: Path) -> int:
    target = Path(connection.settings_dict["NAME"])
    if not target.parent.is_dir():
        raise BackupError(f"{target.parent}, the folder of the database named by DATABASE_URL, does not exist")
    with _private_temp(target.parent) as temp:
        source = sqlite3.connect(f"file:{quote(str(dump))}?mode=ro", uri=True)
        copy = sqlite3.connect(temp)
        try:
            source.backup(copy)
            copy.execute("PRAGMA journal_mode=DELETE")
            tables = _sqlite_verified(copy, dump)
        except sqlite3.Error as exc:
            raise BackupError(f"{dump} cannot be read as a SQLite database: {exc}")
        finally:
            copy.close()
            source.close()
        _fsync(temp)
        # The empty database's journal files must not be applied to the restored one.
        for suffix in ("-wal", "-shm", "-journal"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{target}{suffix}")
        os.replace(temp, target)
        _fsync_dir(target.parent)
    return tables


def _pg_tables() -> list[str]:
    with connection.cursor() as cursor:
        cursor.execute("""
            SELECT n.nspname || '.' || c.relname FROM pg_catalog.pg_class c
            JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
            WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f')
              AND n.nspname NOT IN ('pg_catalog', 'information_schema')
              AND n.nspname NOT LIKE 'pg\\_toast%%' AND n.nspname NOT LIKE 'pg\\_temp\\_%%'
            ORDER BY 1""")
        return [row[0] for row in cursor.fetchall()]


def _pg_restore(dump: Path) -> int:
    connection.close()
    # One transaction: a restore that fails half-way leaves the database empty, ready for another try.
    # --no-owner: the objects belong to the role that restores (DATABASE_URL's), whatever role owned them.
    _pg_run(["pg_restore", "--no-owner", "--no-password", "--exit-on-error", "--single-transaction",
             "--dbname", str(connection.settings_dict["NAME"]), str(dump)], stdout=subprocess.PIPE,
            what="pg_restore")
    return len(_pg_tables())


def database_analyse() -> None:
    """Planner statistics are not in a dump: without them the first queries after a restore plan badly."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")


def encrypted_values_check() -> int:
    """Decrypt one stored value of every encrypted column that holds any; a BackupError when the configured
    keys cannot. Returns how many columns were checked."""
    checked = 0
    for model in apps.get_models():
        for field in model._meta.concrete_fields:
            if not isinstance(field, EncryptedCharField):
                continue
            rows = (model._base_manager.annotate(_length=Length(field.attname)).filter(_length__gt=0)
                    .order_by("pk").values_list(field.attname, flat=True))
            try:
                found = rows.first() is not None
            except ValueError:
                raise BackupError(
                    f"the restored {model._meta.label}.{field.name} cannot be decrypted with the configured keys: "
                    "set FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY (or put var/field_encryption.key back) to the "
                    "keys of the installation the dump came from, then restart. The data is restored.")
            checked += found
    return checked


# --- helpers -------------------------------------------------------------------------------------

def _pg_environment() -> dict[str, str]:
    """libpq's environment for the configured database: the password travels here, not in argv."""
    db = connection.settings_dict
    _args, extra = DatabaseClient.settings_to_cmd_args_env({**db, "OPTIONS": db.get("OPTIONS") or {}}, [])
    env = {**os.environ, **(extra or {})}  # libpq's own PG* variables apply, as to the application's connections
    for variable, key in (("PGHOST", "HOST"), ("PGPORT", "PORT"), ("PGUSER", "USER"), ("PGDATABASE", "NAME")):
        if db.get(key):
            env[variable] = str(db[key])
    env.setdefault("PGCONNECT_TIMEOUT", "10")
    env["PGAPPNAME"] = "registry-backup"
    return env


def _pg_run(command: list[str], *, stdout, what: str) -> str:
    executable = shutil.which(command[0])
    if executable is None:
        raise BackupError(f"{command[0]} not found: install the PostgreSQL client tools of the server's major "
                          "version or newer (Debian: apt-get install postgresql-client)")
    result = subprocess.run([executable, *command[1:]], stdout=stdout, stderr=subprocess.PIPE,  # noqa: S603
                            stdin=subprocess.DEVNULL, env=_pg_environment(), check=False)
    if result.returncode != 0:
        raise BackupError(f"{what} failed (exit status {result.returncode}):\n"
                          + result.stderr.decode(errors="replace").strip())
    return result.stdout.decode(errors="replace") if isinstance(result.stdout, bytes) else ""


@contextlib.contextmanager
def _private_temp(directory: Path):
    """A new file only this account can read (mkstemp: 0600), removed unless it was published."""
    fd, name = tempfile.mkstemp(dir=directory, prefix=".registry-", suffix=".partial")
    os.close(fd)
    try:
        yield Path(name)
    finally:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name)


def _publish(temp: Path, path: Path) -> None:
    """Give the finished dump its name; a hard link fails rather than replace a file made meanwhile."""
    _fsync(temp)
    try:
        os.link(temp, path)
    except FileExistsError:
        raise BackupError(f"{path} appeared while the backup ran; nothing was overwritten")
    except OSError:  # a file system without hard links
        if path.exists():
            raise BackupError(f"{path} appeared while the backup ran; nothing was overwritten")
        os.rename(temp, path)
    _fsync_dir(path.parent)


def _fsync(path: Path) -> None:
    with open(path, "rb") as file:
        os.fsync(file.fileno())


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
