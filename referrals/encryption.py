"""Personal data encrypted at rest, and a keyed hash to find it again.

The most sensitive fields (a referral's custody record number, contact name, phone and
notes, the notes on its events, a problem reporter's contact, a sign-in app's secret)
are stored encrypted with AES-256-GCM (from ``cryptography``), as URL-safe base64 of a
version byte (2), the key's id (4 bytes), a random 96-bit nonce, the ciphertext and its
16-byte tag; the version byte and key id are authenticated with it. The keys come from
``DATA_ENCRYPTION_KEYS``: one or more Fernet keys (as ``Fernet.generate_key()`` makes),
newest first, each giving its AES key through HKDF-SHA256. The first encrypts; every
one of them decrypts, so a new key can be put in front, the ``rotate-keys`` command
re-encrypts every value with it, and the old key is then removed. A database dump or
backup without the keys shows none of these fields.

Values written before this form are Fernet tokens (AES-128-CBC with an HMAC-SHA256 tag,
under the same keys): they still read, and ``rotate-keys`` rewrites them in this form.
The form is cheaper to read: a worklist decrypts a hundred names and phone numbers, and
a Fernet token cost about seven times as much as this one. Releases before it cannot
read it, so ``DATA_ENCRYPTION_FORM=fernet`` keeps writing Fernet tokens while servers
of an earlier release still run (a rolling upgrade), and with it ``rotate-keys``
rewrites every value as a Fernet token again (before going back to such a release).

A custody record number is found again through ``person_ref_hash``: an HMAC-SHA256 of
the number (spaces dropped, upper case) under a search key derived from an encryption
key. Searches try the hash under every key, so they keep working while keys rotate.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import sqlalchemy as sa
from cryptography.exceptions import InvalidTag
from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from flask import current_app, has_app_context

KEYS_SETTING = "DATA_ENCRYPTION_KEYS"
FORM_SETTING = "DATA_ENCRYPTION_FORM"
FORMS = ("aes-gcm", "fernet")  # how new values are written: the first is the default
MISSING_KEYS_HELP = (
    "DATA_ENCRYPTION_KEYS is not set. Referral Pathways encrypts personal data in the "
    "database with it, so it refuses to start without one. Make a key once and keep it "
    "in your secret store (losing it loses the encrypted data), for example:\n"
    "    export DATA_ENCRYPTION_KEYS=\"$(python3 -c 'from cryptography.fernet import "
    "Fernet; print(Fernet.generate_key().decode())')\"\n"
    "Give every worker and machine the same value. To rotate, put a new key first "
    "(comma-separated, newest first), run `flask --app referrals rotate-keys`, then "
    "remove the old key."
)
_SEARCH_INFO = b"referral-pathways person_ref search key"
_FIELD_INFO = b"referral-pathways field key, AES-256-GCM"
_KEY_ID_INFO = b"referral-pathways field key id"
VERSION = 2  # the first byte of a value in this form (a Fernet token's is 0x80)
_HEADER = 5  # the version byte and the key id, authenticated with the value
_NONCE = 12
_TAG = 16
_SEALED = _HEADER + _NONCE  # where the ciphertext starts


class EncryptionKeyError(RuntimeError):
    """The encryption keys are missing or malformed, or a value needs a key not given."""


def parse_keys(raw: str | Sequence[str] | None) -> tuple[str, ...]:
    """The keys in a setting (comma- or space-separated text, or a list), checked."""
    if raw is None:
        return ()
    parts = re.split(r"[\s,]+", raw) if isinstance(raw, str) else list(raw)
    keys = tuple(p.strip() for p in parts if p and p.strip())
    for number, key in enumerate(keys, 1):
        try:
            Fernet(key)
        except (ValueError, TypeError):
            raise EncryptionKeyError(
                f"Key {number} in {KEYS_SETTING} is not a Fernet key (44 characters of "
                "URL-safe base64, as Fernet.generate_key() makes)."
            ) from None
    return keys


def new_key() -> str:
    return Fernet.generate_key().decode()


class Keyring:
    """Encrypt with the first key, decrypt with any; keyed hashes under each key.
    ``form`` is how new values are written: AES-GCM, or Fernet tokens (which releases
    before AES-GCM read)."""

    def __init__(self, keys: Sequence[str], form: str = FORMS[0]):
        if not keys:
            raise EncryptionKeyError(MISSING_KEYS_HELP)
        if form not in FORMS:
            raise EncryptionKeyError(f"{FORM_SETTING} must be one of {', '.join(FORMS)}.")
        self.keys = tuple(keys)
        self.form = form
        self._primary_fernet = Fernet(self.keys[0])
        self._fernet = MultiFernet([Fernet(k) for k in self.keys])
        self._search_keys = [_search_key(k) for k in self.keys]
        # Each key's AES key, found by its id (two keys' ids could be the same, so each
        # id names a list, tried in turn).
        self._field_keys: dict[bytes, list[AESGCM]] = {}
        headers = []
        for key in self.keys:
            key_id, aead = _field_key(key)
            self._field_keys.setdefault(key_id, []).append(aead)
            headers.append(bytes([VERSION]) + key_id)
        self._header = headers[0]
        self._primary = self._field_keys[headers[0][1:]][0]

    def encrypt(self, text: str) -> str:
        if self.form == "fernet":
            return self._primary_fernet.encrypt(text.encode()).decode()
        nonce = os.urandom(_NONCE)
        sealed = self._primary.encrypt(nonce, text.encode(), self._header)
        return base64.urlsafe_b64encode(self._header + nonce + sealed).decode()

    def decrypt(self, token: str) -> str:
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError):
            raise _cannot_decrypt() from None
        if raw[:1] != b"\x80":  # not a Fernet token
            return self._open(raw).decode()
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken:
            raise _cannot_decrypt() from None

    def _open(self, raw: bytes) -> bytes:
        if len(raw) < _SEALED + _TAG or raw[0] != VERSION:
            raise _cannot_decrypt()
        header, nonce, sealed = raw[:_HEADER], raw[_HEADER:_SEALED], raw[_SEALED:]
        for aead in self._field_keys.get(header[1:], ()):
            try:
                return aead.decrypt(nonce, sealed, header)
            except InvalidTag:
                continue
        raise _cannot_decrypt()

    def is_current(self, token: str) -> bool:
        """Whether ``token`` is written as new values are (``form``), under the first key
        (``rotate-keys`` leaves it as it is)."""
        try:
            raw = base64.urlsafe_b64decode(token)
        except (binascii.Error, ValueError):
            return False
        if self.form == "fernet":
            if raw[:1] != b"\x80":
                return False
            try:
                self._primary_fernet.decrypt(token.encode())
            except InvalidToken:
                return False
            return True
        if raw[:_HEADER] != self._header:
            return False
        try:
            self._primary.decrypt(raw[_HEADER:_SEALED], raw[_SEALED:], self._header)
        except InvalidTag:
            return False
        return True

    def rotate(self, token: str) -> str:
        """The same value encrypted under the first key, written as new values are."""
        return self.encrypt(self.decrypt(token))

    def search_hash(self, value: str) -> str:
        """The keyed hash stored beside a new value (under the first key)."""
        return _hash(self._search_keys[0], value)

    def search_hashes(self, value: str) -> list[str]:
        """The hashes ``value`` may be stored under, one per key."""
        return [_hash(k, value) for k in self._search_keys]


def _cannot_decrypt() -> EncryptionKeyError:
    return EncryptionKeyError(
        f"A stored value cannot be decrypted with the keys in {KEYS_SETTING}: the key that "
        "encrypted it is missing (or the value was changed)."
    )


def _field_key(fernet_key: str) -> tuple[bytes, AESGCM]:
    """The id and AES-256-GCM key that a key in the setting gives."""
    secret = base64.urlsafe_b64decode(fernet_key)
    key = HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_FIELD_INFO).derive(secret)
    key_id = HKDF(algorithm=hashes.SHA256(), length=4, salt=None, info=_KEY_ID_INFO).derive(secret)
    return key_id, AESGCM(key)


def _search_key(fernet_key: str) -> bytes:
    return HKDF(algorithm=hashes.SHA256(), length=32, salt=None, info=_SEARCH_INFO).derive(
        base64.urlsafe_b64decode(fernet_key)
    )


def normalise_person_ref(value: str) -> str:
    """A custody record number as compared: no spaces, upper case."""
    return re.sub(r"\s+", "", value or "").upper()


def _hash(key: bytes, value: str) -> str:
    return hmac.new(key, normalise_person_ref(value).encode(), hashlib.sha256).hexdigest()


@lru_cache(maxsize=8)
def _keyring_for(keys: tuple[str, ...], form: str) -> Keyring:
    return Keyring(keys, form)


def keyring() -> Keyring:
    """The keyring of the current app (its ``DATA_ENCRYPTION_KEYS`` and
    ``DATA_ENCRYPTION_FORM``)."""
    if not has_app_context():
        raise EncryptionKeyError("Personal data can only be read or written inside the app.")
    config = current_app.config
    keys = tuple(config.get(KEYS_SETTING) or ())
    return _keyring_for(keys, config.get(FORM_SETTING) or FORMS[0])


class EncryptedText(sa.types.TypeDecorator):
    """Text stored encrypted with the app's keys; ``None`` stays ``None``.

    The stored value differs every time (a random nonce), so never compare these columns
    in SQL: search through a keyed hash column instead.
    """

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().encrypt(str(value))

    def process_result_value(self, value: Any, dialect: Any) -> str | None:
        if value is None:
            return None
        return keyring().decrypt(value)


def encrypted_columns(metadata: sa.MetaData) -> list[sa.Column]:
    """Every encrypted column in ``metadata`` (for ``rotate-keys``)."""
    return [
        column
        for table in metadata.sorted_tables
        for column in table.columns
        if isinstance(column.type, EncryptedText)
    ]
