"""Referral references: short, unambiguous codes like ``RP-7K3M-9Q2X``.

Eight characters of Crockford's base 32 (no I, L, O or U, so nothing is misread on a
phone call), shown in two groups. ``reference_for(n)`` maps numbers one-to-one onto
references, so numbered referrals never collide; new referrals use a random number.
"""

from __future__ import annotations

import re
import secrets

ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_BITS = 40  # 8 characters of 5 bits
_MASK = (1 << _BITS) - 1
_MULTIPLIER = 0x9E3779B97F & _MASK | 1  # odd, so multiplication is a bijection mod 2**40
_PATTERN = re.compile(r"^RP-?([0-9A-Z]{4})-?([0-9A-Z]{4})$")


_PAIRS = [a + b for a in ALPHABET for b in ALPHABET]  # 10 bits -> 2 characters


def _encode(value: int) -> str:
    pairs = _PAIRS
    return (
        f"RP-{pairs[value >> 30 & 1023]}{pairs[value >> 20 & 1023]}"
        f"-{pairs[value >> 10 & 1023]}{pairs[value & 1023]}"
    )


def reference_for(number: int) -> str:
    """The reference of the ``number``-th referral: distinct numbers, distinct codes."""
    return _encode((number * _MULTIPLIER) & _MASK)


def new_reference() -> str:
    return reference_for(secrets.randbits(_BITS))


def normalise_reference(text: str) -> str | None:
    """Read a reference as typed (any case, spaces, O for 0, I or L for 1)."""
    squashed = re.sub(r"[\s\-]", "", (text or "").upper())
    squashed = squashed.replace("O", "0").replace("I", "1").replace("L", "1")
    if squashed.startswith("RP"):
        squashed = squashed[2:]
    if len(squashed) != 8 or any(ch not in ALPHABET for ch in squashed):
        return None
    return f"RP-{squashed[:4]}-{squashed[4:]}"
