"""``manage.py audit_verify``: walk the audit trail's hash chain and report any event changed, removed or
back-dated (registry/audit_chain.py). Exit status 1 when the chain does not hold. Runs nightly as a task too."""

from django.core.management.base import BaseCommand, CommandError

from registry.audit_chain import audit_seal, audit_verify


class Command(BaseCommand):
    help = "Verify the audit trail's hash chain: changed, removed or back-dated events."

    def add_arguments(self, parser):
        parser.add_argument("--no-seal", action="store_true", help="Do not seal the newest events first.")

    def handle(self, *args, no_seal=False, **options):
        if not no_seal:
            audit_seal()
        verdict = audit_verify()
        if not verdict.ok:
            raise CommandError(verdict.summary())
        self.stdout.write(self.style.SUCCESS(verdict.summary()))
