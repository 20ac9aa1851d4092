"""bin/backup and bin/restore on the zero-setup default (SQLite), run as an operator runs them: real scripts in
subprocesses, on a database made by ``migrate`` and ``seed_demo`` in a folder of its own. (The PostgreSQL path is
step 3 of .ci/run.) The subprocesses run with umask 022, under which SQLite would create a world-readable file."""

import hashlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet

ROOT = Path(__file__).resolve().parents[2]
FIRST_DOCUMENT = "from persons.models import Person; print(Person.objects.order_by('pk').first().document_number)"


def _umask_022():
    os.umask(0o022)


def app_env(var_dir: Path, database: Path | None = None) -> dict[str, str]:
    """The environment of an installation whose var/ is ``var_dir``; SQLite there, or at ``database``."""
    env = {key: value for key, value in os.environ.items()
           if not key.startswith(("DATABASE_URL", "FIELD_", "SECRET_KEY", "CELERY_", "REDIS_URL"))}
    env.update(REGISTRY_VAR_DIR=str(var_dir), CELERY_BROKER_URL="memory://", DJANGO_SETTINGS_MODULE="registry.settings")
    if database is not None:
        env["DATABASE_URL"] = f"sqlite:///{database}"
    return env


def run(command: list, env: dict[str, str], cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([str(part) for part in command], cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=180, preexec_fn=_umask_022, stdin=subprocess.DEVNULL)


def manage(env: dict[str, str], *args: str) -> str:
    result = run([sys.executable, "manage.py", *args], env)
    assert result.returncode == 0, result.stderr
    return result.stdout


def mode(path: Path) -> int:
    return path.stat().st_mode & 0o777


def row_counts(path: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        tables = [row[0] for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite%' ORDER BY name")]
        return {table: db.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0] for table in tables}
    finally:
        db.close()


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class Installation:
    def __init__(self, root: Path):
        self.var = root / "var"
        self.db = self.var / "registry.sqlite3"
        self.env = app_env(self.var)


@pytest.fixture(scope="module")
def source(tmp_path_factory):
    """A zero-setup installation with the demo data, made by the application itself."""
    installation = Installation(tmp_path_factory.mktemp("source"))
    manage(installation.env, "migrate", "--noinput", "-v", "0")
    manage(installation.env, "seed_demo")
    return installation


@pytest.fixture(scope="module")
def dump(source, tmp_path_factory):
    path = tmp_path_factory.mktemp("dumps") / "registry.sqlite3"
    result = run([ROOT / "bin/backup", path], source.env)
    assert result.returncode == 0, result.stderr
    return path


def test_the_application_makes_var_0700_and_its_sqlite_database_0600(source):
    assert mode(source.var) == 0o700
    assert mode(source.db) == 0o600
    live = sqlite3.connect(source.db)  # while a connection is open, WAL's two companion files exist
    try:
        live.execute("SELECT count(*) FROM django_migrations").fetchone()
        for suffix in ("-wal", "-shm"):
            assert mode(Path(f"{source.db}{suffix}")) == 0o600
    finally:
        live.close()


def test_an_existing_world_readable_database_is_made_0600_when_the_application_opens_it(source, dump, tmp_path):
    var = tmp_path / "var"
    var.mkdir()
    (var / "registry.sqlite3").write_bytes(dump.read_bytes())
    (var / "registry.sqlite3").chmod(0o644)
    for key in source.var.glob("*.key"):  # the installation's keys, or the key canary refuses to start
        (var / key.name).write_bytes(key.read_bytes())
    manage(app_env(var), "migrate", "--noinput", "-v", "0")
    assert mode(var / "registry.sqlite3") == 0o600


def test_a_backup_taken_during_a_write_restores_into_an_empty_file_with_its_document_numbers(source, tmp_path):
    # The application is in the middle of a write: the dump holds what was committed, and nothing of that write.
    live = sqlite3.connect(source.db, timeout=30)
    live.execute("BEGIN IMMEDIATE")
    live.execute("INSERT INTO django_migrations (app, name, applied) VALUES ('backup_test', 'uncommitted', "
                 "'2026-01-01 00:00:00')")
    try:
        committed = row_counts(source.db)
        backup = run([ROOT / "bin/backup", "nightly.sqlite3"], source.env, cwd=tmp_path)  # relative to the caller
    finally:
        live.rollback()
        live.close()
    assert backup.returncode == 0, backup.stderr
    dump = tmp_path / "nightly.sqlite3"
    assert f"Wrote {dump}: SQLite" in backup.stdout
    assert "The keys are not in it" in backup.stdout and str(source.var / "field_encryption.key") in backup.stdout
    assert mode(dump) == 0o600
    assert row_counts(dump) == committed
    assert committed["persons_person"] == 200
    assert [path.name for path in tmp_path.iterdir()] == ["nightly.sqlite3"]  # no temporary file left behind
    key = (source.var / "field_encryption.key").read_bytes().strip()
    assert key not in dump.read_bytes()

    restored = tmp_path / "restored" / "registry.sqlite3"
    restored.parent.mkdir()
    restore = run([ROOT / "bin/restore", dump], app_env(source.var, restored))
    assert restore.returncode == 0, restore.stderr
    assert "No migrations to apply" in restore.stdout and "The configured keys decrypt" in restore.stdout
    assert mode(restored) == 0o600
    assert row_counts(restored) == committed

    number = manage(app_env(source.var, restored), "shell", "-c", FIRST_DOCUMENT).strip()
    assert number and number == manage(source.env, "shell", "-c", FIRST_DOCUMENT).strip()
    db = sqlite3.connect(restored)
    stored = db.execute("SELECT document_number FROM persons_person ORDER BY id LIMIT 1").fetchone()[0]
    db.close()
    assert number not in stored  # ciphertext: the dump alone shows no number


def test_restore_refuses_a_database_that_has_tables_and_leaves_it_as_it_is(source, dump):
    before = digest(source.db)
    result = run([ROOT / "bin/restore", dump], source.env)
    assert result.returncode == 1
    assert "already has" in result.stderr and "empty database only" in result.stderr
    assert digest(source.db) == before


def test_backup_never_writes_over_a_file(source, tmp_path):
    existing = tmp_path / "registry.sqlite3"
    existing.write_text("yesterday's dump")
    result = run([ROOT / "bin/backup", existing], source.env)
    assert result.returncode == 1 and "never overwrites" in result.stderr
    assert existing.read_text() == "yesterday's dump"


def test_restore_refuses_without_the_keys_and_makes_none(dump, tmp_path):
    var = tmp_path / "var"
    result = run([ROOT / "bin/restore", dump], app_env(var, tmp_path / "registry.sqlite3"))
    assert result.returncode == 1 and "no keys" in result.stderr
    assert not (tmp_path / "registry.sqlite3").exists() and not (var / "field_encryption.key").exists()


def test_restore_with_other_keys_says_the_numbers_cannot_be_decrypted(dump, tmp_path):
    var = tmp_path / "var"
    var.mkdir(mode=0o700)
    (var / "field_encryption.key").write_bytes(Fernet.generate_key())
    result = run([ROOT / "bin/restore", dump], app_env(var, tmp_path / "registry.sqlite3"))
    assert result.returncode == 1
    assert "cannot be decrypted with the configured keys" in result.stderr
