"""System checks of the kernel: the keys (``manage.py check --deploy`` and ``--database``)."""

from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured


@checks.register(checks.Tags.security, deploy=True)
def keys_given(app_configs, **kwargs):
    """In production the keys come from the environment (a secrets store), not from files made on first start,
    and the hash key is its own: a leaked encryption key must not also give away the lookup hashes."""
    found = []
    if not settings.FIELD_KEYS_GIVEN:
        found.append(checks.Error(
            "FIELD_ENCRYPTION_KEYS and FIELD_HASH_KEY are not set: the keys were made in var/ on first start.",
            hint="Set both from your secrets store (docs/deployment.md, 'Keys for identity-document numbers').",
            id="registry.E001"))
    if settings.FIELD_HASH_KEY in settings.FIELD_ENCRYPTION_KEYS:
        found.append(checks.Error(
            "FIELD_HASH_KEY is one of FIELD_ENCRYPTION_KEYS.",
            hint="Give the hash key its own random value (it never changes; docs/deployment.md).",
            id="registry.E002"))
    return found


@checks.register(checks.Tags.database)
def keys_read_the_database(app_configs, databases=None, **kwargs):
    """``check --database default``: the configured keys read the database's key canary (registry/keys.py)."""
    if not databases:
        return []
    from .keys import key_canary_check

    try:
        key_canary_check()
    except ImproperlyConfigured as exc:
        return [checks.Critical(str(exc), id="registry.E003")]
    return []
