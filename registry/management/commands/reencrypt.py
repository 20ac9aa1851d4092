"""``manage.py reencrypt``: every encrypted column rewritten under the newest key, so an old key can go.

Rotation: put a new key first in FIELD_ENCRYPTION_KEYS (the old ones after it), restart, run this, then
remove the old keys and restart again. The hash key (FIELD_HASH_KEY) is never rotated this way: the
hashes of every number would change (docs/deployment.md).
"""

from django.core.management.base import BaseCommand
from django.db import transaction

from registry.keys import encrypted_fields, key_canary_check, key_canary_renew

BATCH = 1000


class Command(BaseCommand):
    help = "Re-encrypt every identity-document number under the newest key (the first of FIELD_ENCRYPTION_KEYS)."

    def handle(self, *args, **options):
        key_canary_check()
        for model, name in encrypted_fields():
            rows, last = 0, 0
            while True:
                with transaction.atomic():
                    # Read decrypted (any configured key), write back encrypted under the first key. A plain
                    # update: no audit event or feed entry, as nothing a person sees has changed.
                    batch = list(model._base_manager.filter(pk__gt=last).exclude(**{f"{name}__isnull": True})
                                 .order_by("pk").only("pk", name)[:BATCH])
                    if not batch:
                        break
                    model._base_manager.bulk_update(batch, [name])
                last = batch[-1].pk
                rows += len(batch)
            self.stdout.write(f"{model._meta.label}.{name}: {rows} rows re-encrypted")
        key_canary_renew()
        self.stdout.write(self.style.SUCCESS("Done. The old keys can now be removed from FIELD_ENCRYPTION_KEYS."))
