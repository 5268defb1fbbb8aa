"""UK phone numbers as people type them ("0141 496 0123", "+44 (0)7700 900123",
"0044 7700 900123"): whether one is usable, whether it can take a text message, and
the number a ``tel:`` link dials."""

from __future__ import annotations

import re

_ALLOWED = re.compile(r"^[0-9 +()\-]+$")
# "+44 (0)" or "0044 (0)": the international prefix, then the trunk 0 some write too.
_INTERNATIONAL = re.compile(r"^(?:\+|00)\s*44\s*(?:\(\s*0\s*\))?")
_NOT_DIALLED = re.compile(r"[^\d+]")
_NOT_DIGITS = re.compile(r"\D")


def national(phone: str) -> str:
    """The number's digits as dialled within the UK: "07700900123"."""
    text = phone.strip()
    if match := _INTERNATIONAL.match(text):
        return "0" + _NOT_DIGITS.sub("", text[match.end() :]).removeprefix("0")
    digits = _NOT_DIGITS.sub("", text)
    return "0" + digits[2:] if digits.startswith("44") else digits


def phone_problem(phone: str) -> str | None:
    """Why ``phone`` is not a usable UK phone number; ``None`` if it is."""
    if not _ALLOWED.match(phone):
        return "Use only digits, spaces and + ( ) -, like 0141 496 0123."
    digits = national(phone)
    if not digits.startswith("0") or not 10 <= len(digits) <= 11:
        return "Enter a UK number of 10 or 11 digits, like 0141 496 0123 or 0800 123 456."
    return None


def text_problem(phone: str) -> str | None:
    """Why ``phone`` cannot take a text message; ``None`` if it can (a UK mobile)."""
    if problem := phone_problem(phone):
        return problem
    if not national(phone).startswith("07"):
        return (
            "Text messages need a mobile number, starting 07. For a landline, choose “Phone call”."
        )
    return None


def dialable(phone: str) -> str:
    """What a ``tel:`` link holds for ``phone``: "+447700900123" for a number written
    with +44 (and any "(0)"), else its digits. (A worklist page makes some forty: the
    usual "07700 900123" takes the short way.)"""
    text = phone.strip()
    if "(" not in text and not text.startswith(("+", "00")):
        return text.replace(" ", "").replace("-", "")
    if _INTERNATIONAL.match(text):
        return "+44" + national(text)[1:]
    return _NOT_DIALLED.sub("", text)
