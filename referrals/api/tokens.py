"""Bearer tokens for API clients: made, stored hashed, and checked on every call.

A token reads ``rpk_<prefix>_<secret>``: the prefix (8 characters) finds the client, the
whole token's SHA-256 proves it. Only the prefix and the hash are stored, so a copy of
the database gives nobody a working token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, selectinload

from ..models import User
from .models import ApiClient

SCHEME = "rpk"
PREFIX_LENGTH = 8
PREFIX_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"


@dataclass(frozen=True)
class NewToken:
    token: str
    prefix: str
    digest: str


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def make_token(session: Session) -> NewToken:
    """A fresh token whose prefix no client has."""
    for _attempt in range(10):
        prefix = "".join(secrets.choice(PREFIX_ALPHABET) for _ in range(PREFIX_LENGTH))
        taken = session.scalar(sa.select(ApiClient.id).where(ApiClient.token_prefix == prefix))
        if taken is None:
            token = f"{SCHEME}_{prefix}_{secrets.token_urlsafe(32)}"
            return NewToken(token=token, prefix=prefix, digest=digest(token))
    raise RuntimeError("could not draw a free token prefix")  # pragma: no cover


def bearer_token(header: str | None) -> str | None:
    """The token in an ``Authorization: Bearer ...`` header, or None."""
    scheme, _, value = (header or "").strip().partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


@dataclass(frozen=True)
class Refusal:
    reason: str  # for the audit log: missing, malformed, unknown, revoked
    prefix: str | None = None


def client_for_token(session: Session, token: str | None) -> ApiClient | Refusal:
    """The active client holding ``token``, or why it is refused."""
    if not token:
        return Refusal("missing")
    parts = token.split("_", 2)
    if (
        len(parts) != 3
        or parts[0] != SCHEME
        or len(parts[1]) != PREFIX_LENGTH
        or not set(parts[1]) <= set(PREFIX_ALPHABET)
    ):
        return Refusal("malformed")
    prefix = parts[1]
    client = session.scalar(
        sa.select(ApiClient)
        .where(ApiClient.token_prefix == prefix)
        .options(
            selectinload(ApiClient.user).selectinload(User.organisation),
            selectinload(ApiClient.suites),
        )
    )
    if client is None or not hmac.compare_digest(client.token_hash, digest(token)):
        return Refusal("unknown", prefix)
    if not client.active or not client.user.active:
        return Refusal("revoked", prefix)
    return client
