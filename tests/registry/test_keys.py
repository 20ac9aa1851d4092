"""Keys that fail loudly (issue 15): the key canary, re-encryption under a new key, key files made private,
and the deployment checks."""

import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography.fernet import Fernet
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection

from persons.factories import PersonFactory
from persons.models import Person
from registry import crypto
from registry.checks import keys_given
from registry.keys import CANARY, key_canary_check, key_canary_ensure
from registry.models import KeyCanary

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def keys(settings):
    """Change the configured keys within a test (the crypto module caches them)."""

    def use(encryption: list[str], hash_key: str | None = None):
        settings.FIELD_ENCRYPTION_KEYS = encryption
        if hash_key is not None:
            settings.FIELD_HASH_KEY = hash_key
        crypto._fernet.cache_clear()
        crypto._hash_key.cache_clear()

    yield use
    crypto._fernet.cache_clear()
    crypto._hash_key.cache_clear()


def raw_document(person) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT document_number FROM persons_person WHERE id = %s", [person.pk])
        return cursor.fetchone()[0]


def test_migrate_leaves_a_canary_that_the_configured_keys_read(db):
    canary = KeyCanary.objects.get()
    assert crypto.decrypt(canary.ciphertext) == CANARY
    key_canary_check()  # nothing to say


def test_a_wrong_encryption_key_is_refused_with_what_to_do(db, keys, settings):
    keys([Fernet.generate_key().decode()], hash_key=settings.FIELD_HASH_KEY)
    with pytest.raises(ImproperlyConfigured, match="FIELD_ENCRYPTION_KEYS cannot decrypt.*docs/deployment.md"):
        key_canary_check()


def test_a_wrong_hash_key_is_refused_too(db, keys, settings):
    keys(list(settings.FIELD_ENCRYPTION_KEYS), hash_key="another hash key")
    with pytest.raises(ImproperlyConfigured, match="FIELD_HASH_KEY is not the key"):
        key_canary_check()


def test_no_canary_is_written_under_keys_that_cannot_read_the_numbers_already_there(db, keys, settings):
    PersonFactory()
    KeyCanary.objects.all().delete()
    keys([Fernet.generate_key().decode()])
    with pytest.raises(ImproperlyConfigured, match="cannot decrypt the identity-document numbers already"):
        key_canary_ensure()
    assert not KeyCanary.objects.exists()


def test_reencrypt_moves_every_number_and_the_canary_to_the_newest_key(db, keys, settings):
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    person = PersonFactory()
    number = person.document_number
    new = Fernet.generate_key().decode()
    keys([new, *old])
    key_canary_check()  # the old key still reads everything
    call_command("reencrypt", stdout=open(os.devnull, "w"))  # noqa: SIM115
    keys([new])  # the old key retired
    assert Person.objects.get(pk=person.pk).document_number == number
    assert Fernet(new.encode()).decrypt(raw_document(person).encode()).decode() == number
    key_canary_check()


def test_the_web_server_refuses_to_start_with_a_wrong_key(tmp_path):
    env = {**os.environ, "REGISTRY_VAR_DIR": str(tmp_path), "DJANGO_SETTINGS_MODULE": "registry.settings"}
    env.pop("DATABASE_URL", None)  # a database of its own, made here
    subprocess.run([sys.executable, "manage.py", "migrate", "-v", "0"], cwd=ROOT, env=env, check=True,
                   capture_output=True)
    started = subprocess.run([sys.executable, "-c", "import registry.wsgi"], cwd=ROOT, env=env,
                             capture_output=True, text=True)
    assert started.returncode == 0, started.stderr
    wrong = {**env, "FIELD_ENCRYPTION_KEYS": Fernet.generate_key().decode(),
             "FIELD_HASH_KEY": (tmp_path / "field_encryption.key").read_text().strip()}
    refused = subprocess.run([sys.executable, "-c", "import registry.wsgi"], cwd=ROOT, env=wrong,
                             capture_output=True, text=True)
    assert refused.returncode != 0
    assert "FIELD_ENCRYPTION_KEYS cannot decrypt" in refused.stderr and "docs/deployment.md" in refused.stderr


def test_key_files_and_their_folder_are_private_from_the_start(tmp_path):
    var = tmp_path / "var"
    env = {**os.environ, "REGISTRY_VAR_DIR": str(var), "DJANGO_SETTINGS_MODULE": "registry.settings"}
    env.pop("FIELD_ENCRYPTION_KEYS", None)
    env.pop("SECRET_KEY", None)
    subprocess.run([sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, check=True)
    assert stat.S_IMODE(var.stat().st_mode) == 0o700
    for name in ("secret_key", "field_encryption.key"):
        assert stat.S_IMODE((var / name).stat().st_mode) == 0o600, name
    assert not list(var.glob(".*.new"))  # no draft left behind


def test_check_deploy_wants_given_keys_and_a_hash_key_of_its_own(settings):
    settings.FIELD_KEYS_GIVEN = False
    assert {found.id for found in keys_given(None)} >= {"registry.E001"}
    settings.FIELD_KEYS_GIVEN = True
    settings.FIELD_HASH_KEY = settings.FIELD_ENCRYPTION_KEYS[0]
    assert [found.id for found in keys_given(None)] == ["registry.E002"]
    settings.FIELD_HASH_KEY = "a key of its own"
    assert keys_given(None) == []


def test_check_database_reports_keys_that_cannot_read(db, keys):
    keys([Fernet.generate_key().decode()])
    found = checks.run_checks(tags=[checks.Tags.database], databases=["default"])
    assert any(item.id == "registry.E003" for item in found)
