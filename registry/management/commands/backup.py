"""``manage.py backup [FILE]``, run by ``bin/backup``: a consistent dump of the database, without the keys."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from registry.backups import BackupError, backup_write, default_path, keys_note


class Command(BaseCommand):
    help = ("Write a consistent dump of the database to FILE (pg_dump -Fc on PostgreSQL, SQLite's online backup "
            "otherwise), mode 0600, never over an existing file. The keys are never in it.")
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", nargs="?",
                            help="the dump to write (default: registry-<kind>-<time> in --directory)")
        parser.add_argument("--directory", default=".", help="where the default file name goes (default: here)")

    def handle(self, *args, file, directory, **options):
        try:
            dump = backup_write(path=Path(file) if file else default_path(Path(directory)))
        except BackupError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Wrote {dump.path}: {dump.description} of {dump.database}, {_size(dump.size)}, "
                          f"{dump.tables} tables, mode 0600.")
        self.stdout.write(keys_note())


def _size(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size} {unit}" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return ""
