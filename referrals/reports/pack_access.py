"""Which quarterly packs (``/reports/pack``) a signed-in user may open.

Area leads and administrators open every pack: the nation's, and every police division's,
ADP's and scheme's. Users who see only their own units' figures (``own``) open the packs
of those of their units a pack is made for: a scheme lead their arrest referral scheme's,
a custody supervisor the police division their suite is in. A provider manager has none
(a pack is made for areas and schemes, not for a provider's organisation or services), nor
has anyone else. A pack holds only published, protected figures, as the own-figures pages.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from .measures import GROUPING_LABELS
from .own import Unit, own_units, sees_every_area
from .pack import area_choices, default_area, pack_groupings

PACK_PAGES = frozenset({"reports.pack", "reports.pack_pdf"})


def own_packs(session: Session, user) -> list[Unit]:
    """The packs of the user's own units (for an area lead, their ADPs' and divisions')."""
    groupings = pack_groupings()
    return [u for u in own_units(session, user) if u.grouping in groupings]


def pack_value(unit: Unit) -> str:
    """A pack's ``area`` as the page's list and URLs give it."""
    return f"{unit.grouping}:{unit.code}"


def may_open_packs(session: Session, user) -> bool:
    if not getattr(user, "is_authenticated", False):
        return False
    return sees_every_area(user) or bool(own_packs(session, user))


def may_open(session: Session, user, area: str) -> bool:
    """Whether ``user`` may open the pack of ``area`` ("national" or grouping:code)."""
    if sees_every_area(user):
        return True
    return area in {pack_value(u) for u in own_packs(session, user)}


def choices_for(session: Session, user, national_name: str) -> list[tuple[str, list[tuple]]]:
    """The area list of the pack page: every area for leads, else the user's own packs."""
    if sees_every_area(user):
        return area_choices(session, national_name)
    grouped: dict[str, list[tuple[str, str]]] = {}
    for unit in own_packs(session, user):
        grouped.setdefault(unit.grouping, []).append((pack_value(unit), unit.name))
    return [(GROUPING_LABELS[g], options) for g, options in grouped.items()]


def default_for(session: Session, user) -> str:
    """The pack a user's page opens on: a lead's first division's, else their first own."""
    if sees_every_area(user):
        return default_area(session, [a.id for a in getattr(user, "areas", [])])
    packs = own_packs(session, user)
    return pack_value(packs[0]) if packs else "national"
