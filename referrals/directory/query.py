"""Reading the search box: a place, what is needed, a service's name, or a mix.

"G31 2AB", "Kirkcaldy", "naloxone", "needle exchange Glasgow", "rehab Dundee",
"naloxone near Paisley", "Turning Point" and "Turning Point Dundee" all work. In order:

1. "WHAT near|in|around|at WHERE": WHERE is the place, WHAT the needs and name.
2. Text that is a place or postcode as a whole is a place (as before).
3. Needs and filler ("near", "please") are picked out ("rehab", "women", ...); what is
   left is the place if it is one ("near Glasgow", "Fife please").
4. Text matching a service's or organisation's name as a whole is a name.
5. The longest run of words at the end (or start) that is a place is the place; the
   rest gives the needs, and any words left, the name.
6. Otherwise what is left (or the whole text) is looked up as a place, so someone who
   mistyped a town still gets "did you mean".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..choices import ServiceStatus
from ..models import PostcodeDistrict, Service
from ..postcodes import parse
from ..seed.reference import place_key
from .filters import Need, name_condition
from .gazetteer import Gazetteer
from .needs import FILLER, find_needs, vocabulary
from .taxonomy import TypeRow, code_names, service_types

CONNECTORS = re.compile(r"\s+(?:near|in|around|at|close to|nearby)\s+", re.IGNORECASE)


@dataclass(frozen=True)
class Understood:
    place: str | None = None
    needs: list[Need] = field(default_factory=list)
    name: str | None = None

    @property
    def what(self) -> str:
        """The needs and name in words, for headings ("naloxone, “Turning Point”")."""
        parts = [n.words for n in self.needs]
        if self.name:
            parts.append(f"“{self.name}”")
        return ", ".join(parts)


def is_place(session: Session, text: str, gazetteer: Gazetteer | None = None) -> bool:
    """True when ``text`` is exactly a known place, postcode district, area or postcode."""
    if not text.strip():
        return False
    gazetteer = gazetteer or Gazetteer(session)
    parsed = parse(text)
    if parsed is not None:
        if parsed.kind == "full":
            return (
                gazetteer.postcode(parsed.postcode) is not None
                or gazetteer.district(parsed.district) is not None
            )
        if parsed.kind == "district":
            return gazetteer.district(parsed.district) is not None
        known = session.scalar(
            sa.select(PostcodeDistrict.district).where(PostcodeDistrict.area == parsed.area)
        )
        if known:
            return True
    key = place_key(text)
    return bool(key) and (gazetteer.place(key) is not None or gazetteer.council(key) is not None)


def names_match(session: Session, text: str) -> bool:
    words = [w for w in text.split() if w.casefold() not in FILLER]
    if not words:
        return False
    found = session.scalar(
        sa.select(Service.id)
        .where(Service.status == ServiceStatus.ACTIVE, name_condition(" ".join(words)))
        .limit(1)
    )
    return found is not None


@lru_cache(maxsize=8)
def _vocabulary(types: tuple[tuple[str, str], ...]) -> dict[str, str]:
    """The phrases for these (code, name) pairs: keyed on the types as read, so a type
    renamed in the database gives new phrases in every process."""
    return vocabulary(list(types))


def _what(needs: list[Need], left: list[str]) -> tuple[list[Need], str | None]:
    words = [w for w in left if w not in FILLER]
    return needs, " ".join(words) or None


def understand(
    session: Session,
    text: str,
    *,
    types: list[TypeRow] | None = None,
    gazetteer: Gazetteer | None = None,
) -> Understood:
    """What ``text`` asks for. ``types`` are the service types if already read;
    ``gazetteer`` keeps the places looked up, for placing the origin next."""
    text = " ".join((text or "").split())
    if not text:
        return Understood()
    phrases = _vocabulary(code_names(types if types is not None else service_types(session)))
    gazetteer = gazetteer or Gazetteer(session)
    split = CONNECTORS.split(text, maxsplit=1)
    if len(split) == 2 and split[0].strip() and split[1].strip():
        needs, name = _what(*find_needs(split[0], phrases))
        return Understood(split[1].strip(), needs, name)
    if is_place(session, text, gazetteer):
        return Understood(text)
    needs, left = find_needs(text, phrases)
    rest = " ".join(w for w in left if w not in FILLER)
    if needs and not rest:
        return Understood(None, needs)
    # "near Glasgow", "in G31", "Glasgow please": the place once the filler is gone.
    if rest and rest != text and is_place(session, rest, gazetteer):
        return Understood(rest, needs)
    if names_match(session, text):
        return Understood(
            None, [], " ".join(w for w in text.split() if w.casefold() not in FILLER)
        )
    words = text.split()
    for size in range(len(words) - 1, 0, -1):
        for place, other in ((words[-size:], words[:-size]), (words[:size], words[size:])):
            if is_place(session, " ".join(place), gazetteer):
                needs, name = _what(*find_needs(" ".join(other), phrases))
                if needs or (name and names_match(session, name)):
                    return Understood(" ".join(place), needs, name)
    if needs:
        return Understood(rest, needs)
    return Understood(text)
