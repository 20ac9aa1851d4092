"""``manage.py restore FILE``, run by ``bin/restore``: a dump from ``bin/backup`` into an empty database, then
``migrate`` (a dump from an older version comes up to date) and a check that the keys decrypt what it holds."""

from pathlib import Path

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError

from registry.backups import BackupError, database_analyse, encrypted_values_check, restore_read

from .backup import _size


class Command(BaseCommand):
    help = ("Restore FILE, written by bin/backup, into the configured database, which must be empty; then migrate "
            "and check that the configured keys decrypt the restored document numbers.")
    # The checks would look at a database that is not there yet; migrate runs them once it is.
    requires_system_checks = []

    def add_arguments(self, parser):
        parser.add_argument("file", help="a dump written by bin/backup")

    def handle(self, *args, file, **options):
        try:
            dump = restore_read(path=Path(file))
        except BackupError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"Restored {dump.path} ({dump.description}, {_size(dump.size)}) into {dump.database}: "
                          f"{dump.tables} tables.")
        self.stdout.write("Bringing it up to date (migrate):")
        call_command("migrate", interactive=False, verbosity=options["verbosity"], stdout=self.stdout)
        database_analyse()
        try:
            checked = encrypted_values_check()
        except BackupError as exc:
            raise CommandError(str(exc))
        self.stdout.write(f"The configured keys decrypt the restored data ({checked} encrypted columns checked). "
                          "Start the application.")
