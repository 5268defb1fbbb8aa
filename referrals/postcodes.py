"""UK postcode parsing and normalisation, in any case and spacing.

A full postcode is an outward code (the district, e.g. ``G31``) and an inward code
(``2AB``). People type ``g312ab``, ``G31  2AB`` or ``g31``; these functions give back
``G31 2AB`` and ``G31``, or ``None`` when the text is not a postcode.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_OUTWARD = r"[A-Z]{1,2}[0-9][0-9A-Z]?"
_INWARD = r"[0-9][A-Z]{2}"
_FULL_RE = re.compile(rf"^({_OUTWARD})({_INWARD})$")
_DISTRICT_RE = re.compile(rf"^{_OUTWARD}$")
_AREA_RE = re.compile(r"^[A-Z]{1,2}$")
_SPACES_RE = re.compile(r"\s+")


@dataclass(frozen=True)
class ParsedPostcode:
    kind: str  # "full", "district" or "area"
    area: str
    district: str | None = None
    postcode: str | None = None


def _squash(text: str) -> str:
    return _SPACES_RE.sub("", text or "").upper()


def normalise_postcode(text: str) -> str | None:
    """``"g31 2ab"`` -> ``"G31 2AB"``; ``None`` if not a full postcode."""
    match = _FULL_RE.match(_squash(text))
    return f"{match.group(1)} {match.group(2)}" if match else None


# What a referral form's ``council_filled_for`` holds when its council came with "no fixed
# abode" (the custody contact's, filled in), followed by that council's id: a district
# typed later brings the district's council instead, unless the council was changed.
FILLED_FOR_NO_FIXED_ABODE = "no-fixed-abode:"


def normalise_district(text: str) -> str | None:
    """``" g31 "`` -> ``"G31"``; ``None`` if not a postcode district."""
    squashed = _squash(text)
    return squashed if _DISTRICT_RE.match(squashed) else None


def area_of(district: str) -> str:
    """The postcode area (the leading letters) of a district: ``G31`` -> ``G``."""
    return re.match(r"[A-Z]+", district.upper()).group(0)


def parse(text: str) -> ParsedPostcode | None:
    """Recognise a full postcode, a district or a bare area (``EH``); else ``None``."""
    squashed = _squash(text)
    if not squashed or len(squashed) > 8:
        return None
    full = _FULL_RE.match(squashed)
    if full:
        outward = full.group(1)
        return ParsedPostcode("full", area_of(outward), outward, f"{outward} {full.group(2)}")
    if _DISTRICT_RE.match(squashed):
        return ParsedPostcode("district", area_of(squashed), squashed)
    if _AREA_RE.match(squashed):
        return ParsedPostcode("area", squashed)
    return None


def looks_like_postcode(text: str) -> bool:
    """True when the text has the shape of a postcode or district (letters then a digit)."""
    return bool(re.match(r"^[A-Z]{1,2}[0-9]", _squash(text)))
