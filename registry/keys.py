"""Keys that fail loudly: the product refuses to start when its keys cannot read what the database holds.

Every identity-document number is encrypted under ``FIELD_ENCRYPTION_KEYS`` and found through a hash keyed
by ``FIELD_HASH_KEY`` (``registry/crypto.py``). With a wrong or missing key nothing fails at start-up: every
person's page fails later (decryption), or, worse, a lookup silently finds nobody and the same person is
registered twice (the hash). So the database keeps a canary, a known text encrypted and hashed under the
keys it was written with, and the web server, the Celery workers and ``manage.py check`` refuse to run
when the configured keys do not reproduce it.
"""

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, transaction
from django.db.models import TextField
from django.db.models.functions import Cast

from .crypto import EncryptedCharField, decrypt, document_digest, encrypt
from .models import KeyCanary

CANARY = "registry key canary"
HELP = ("Set FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY to the keys this database was written with (see "
        "docs/deployment.md, 'Keys for identity-document numbers'); a new key goes first in "
        "FIELD_ENCRYPTION_KEYS, the old ones stay after it until `manage.py reencrypt` has run.")


def encrypted_fields() -> list[tuple[type, str]]:
    """Every (model, field name) whose column is encrypted, in every installed app."""
    return [(model, field.name) for model in apps.get_models() for field in model._meta.concrete_fields
            if isinstance(field, EncryptedCharField)]


def _stored_ciphertext_sample() -> str | None:
    """One encrypted value already in the database, read raw (not decrypted), if there is any."""
    for model, name in encrypted_fields():
        # Cast to plain text: the column as stored, without the field's decryption on the way out.
        raw = (model._base_manager.exclude(**{f"{name}__isnull": True}).annotate(raw=Cast(name, TextField()))
               .exclude(raw="").values_list("raw", flat=True).first())
        if raw:
            return raw
    return None


def key_canary_check() -> None:
    """Raise ImproperlyConfigured, saying what to do, if the configured keys cannot read the canary."""
    try:
        canary = KeyCanary.objects.order_by("pk").first()
    except DatabaseError:  # not migrated yet: ``migrate`` writes the canary
        return
    if canary is None:
        return
    try:
        readable = decrypt(canary.ciphertext) == CANARY
    except ValueError:
        readable = False
    if not readable:
        raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS cannot decrypt this database's identity-document "
                                   "numbers. " + HELP)
    if document_digest("canary", CANARY) != canary.digest:
        raise ImproperlyConfigured("FIELD_HASH_KEY is not the key this database's document numbers were hashed "
                                   "with: lookups would find nobody and register people twice. " + HELP)


@transaction.atomic
def key_canary_ensure() -> KeyCanary:
    """The canary, written under the configured keys if there is none yet (after ``migrate``). A database that
    already holds encrypted numbers gets one only if the keys read them."""
    canary = KeyCanary.objects.select_for_update().order_by("pk").first()
    if canary is not None:
        return canary
    sample = _stored_ciphertext_sample()
    if sample is not None:
        try:
            decrypt(sample)
        except ValueError:
            raise ImproperlyConfigured("FIELD_ENCRYPTION_KEYS cannot decrypt the identity-document numbers "
                                       "already in this database. " + HELP) from None
    return KeyCanary.objects.create(ciphertext=encrypt(CANARY), digest=document_digest("canary", CANARY))


def key_canary_renew() -> None:
    """After a re-encryption: the canary under the newest key."""
    KeyCanary.objects.update(ciphertext=encrypt(CANARY))
