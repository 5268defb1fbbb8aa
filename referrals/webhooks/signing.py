"""Signing secrets and the signature on every webhook.

Each post carries ``Referrals-Timestamp`` (Unix seconds) and ``Referrals-Signature:
sha256=<hex>``, the HMAC-SHA256 of ``<timestamp>.<body>`` keyed with the system's
secret exactly as it was shown (``whsec_...``). A receiver recomputes it over the raw
body, compares in constant time, and refuses a timestamp more than five minutes old, so
a post copied from a log cannot be replayed later.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

PREFIX = "whsec_"
SCHEME = "sha256"
TOLERANCE_SECONDS = 300


def new_secret() -> str:
    """A fresh signing secret: 256 random bits."""
    return PREFIX + secrets.token_urlsafe(32)


def signature(secret: str, timestamp: int, body: bytes) -> str:
    """The ``Referrals-Signature`` header value for ``body`` sent at ``timestamp``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{SCHEME}={digest.hexdigest()}"


def verify(
    secret: str,
    timestamp: str,
    header: str,
    body: bytes,
    now: float,
    *,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """Whether a received post is genuine and fresh (what a receiver does)."""
    try:
        sent = int(timestamp)
    except (TypeError, ValueError):
        return False
    if abs(now - sent) > tolerance:
        return False
    return hmac.compare_digest(signature(secret, sent, body), (header or "").strip())
