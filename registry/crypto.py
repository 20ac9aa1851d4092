"""Encryption at rest for identity-document numbers, and the keyed hash used to find them.

A document number is stored three ways: Fernet ciphertext (``cryptography``; AES-CBC with an
HMAC, a fresh IV per write), a keyed HMAC-SHA256 digest for exact lookup and the uniqueness
constraint, and the masked form shown in lists. A raw dump of the table holds none of the numbers.
"""

import hashlib
import hmac
from functools import lru_cache

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from django.conf import settings
from django.db import models


@lru_cache(maxsize=1)
def _fernet() -> MultiFernet:
    return MultiFernet([Fernet(key.encode()) for key in settings.FIELD_ENCRYPTION_KEYS])


@lru_cache(maxsize=1)
def _hash_key() -> bytes:
    return hashlib.sha256(b"registry-document-hash:" + settings.FIELD_HASH_KEY.encode()).digest()


def encrypt(plaintext: str) -> str:
    return _fernet().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:  # a key was lost or the row was tampered with
        raise ValueError("identity document ciphertext cannot be decrypted with the configured keys") from exc


def document_digest(document_type: str, number: str) -> str:
    """The keyed digest of a normalised document number; equal numbers give equal digests."""
    message = f"{document_type}:{number}".encode()
    return hmac.new(_hash_key(), message, hashlib.sha256).hexdigest()


def mask(number: str) -> str:
    """First 6 and last 4 characters shown, the rest starred (PRODUCT.md "Display")."""
    if not number:
        return ""
    if len(number) <= 10:
        return number[:2] + "*" * max(len(number) - 4, 0) + number[-2:]
    return number[:6] + "*" * (len(number) - 10) + number[-4:]


class EncryptedCharField(models.TextField):
    """A text column whose value is encrypted before it reaches the database."""

    description = "Encrypted text"

    def from_db_value(self, value, expression, connection):
        if value is None or value == "":
            return value
        return decrypt(value)

    def get_prep_value(self, value):
        value = super().get_prep_value(value)
        if value is None or value == "":
            return value
        return encrypt(value)

    def get_lookup(self, lookup_name):
        # Ciphertext is randomised: any lookup but isnull would silently match nothing.
        if lookup_name not in {"isnull"}:
            return None
        return super().get_lookup(lookup_name)
