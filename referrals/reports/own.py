"""Whose figures: the units a signed-in user sees first, and may see, in the reports.

- An area lead's own areas are their council areas and the ADPs, police divisions and
  health boards those councils belong to: the national page leads with them, trends open on
  them, and every table and map marks them (leads may still see every area).
- A custody supervisor (a custody user with the ``manager`` flag) sees their custody suite
  and the police division it is in; a provider manager (a provider with ``manager``) sees
  their organisation and each of its services; a scheme lead (a user with ``scheme_id``)
  sees their arrest referral scheme and its custody suites while the scheme is active (an
  inactive scheme has stopped working: it is no one's current unit, and its lead is a
  scheme lead no more). These users see only these units' published figures, beside the
  nation's, and nothing else of the reports.

Nothing here reads figures: only who the user is and which areas, suites, services and
schemes are theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from ..choices import Role
from ..extensions import db
from ..models import AreaGroup, CouncilArea, CustodySuite, Organisation, Service
from ..schemes.models import Scheme
from .tables import FAMILY, area_names

REPORT_ROLES = (Role.LEAD, Role.ADMIN)
# The only report pages of users who see their own units' figures and no others.
OWN_FIGURES_PAGES = frozenset(
    {
        "reports.mine",
        "reports.area_profile",
        "reports.profile_by_code",
        "reports.definitions",
        "reports.definitions_csv",  # the definitions page links to it; it holds no figures
    }
)


@dataclass(frozen=True)
class Unit:
    """One area, suite, service, provider or scheme as the published figures key it."""

    grouping: str
    code: str  # as shown: an area's or suite's code, a service's or provider's reference
    name: str
    key: str  # the figures' key, e.g. ``custody_suite:GLA-LR`` or ``service:12``

    @property
    def url_code(self) -> str:
        """What its profile's address holds (``url_code``)."""
        return url_code(self.grouping, self.code, self.key)


BY_ID = ("service", "provider")


def url_code(grouping: str, code: str, key: str) -> str:
    """What a unit's profile address holds: its code, but a service's or provider's id
    (its reference is the provider's own, and may be another one's id, or hold a "/")."""
    return key.partition(":")[2] if grouping in BY_ID else code


def sees_every_area(user) -> bool:
    return getattr(user, "role", None) in REPORT_ROLES


def supervisor(user) -> bool:
    return user.role == Role.CUSTODY and bool(user.manager) and user.custody_suite_id is not None


def provider_manager(user) -> bool:
    return user.role == Role.PROVIDER and bool(user.manager) and user.organisation_id is not None


def scheme_lead(user) -> bool:
    """A lead of an active scheme."""
    if user.scheme_id is None:
        return False
    return bool(db.session.scalar(sa.select(Scheme.active).where(Scheme.id == user.scheme_id)))


def has_own_figures(user) -> bool:
    """Whether ``user`` has a page of their own unit's figures against the nation."""
    if not getattr(user, "is_authenticated", False):
        return False
    return supervisor(user) or provider_manager(user) or scheme_lead(user) or lead_areas(user)


def lead_areas(user) -> bool:
    return user.role == Role.LEAD and bool(user.areas)


def keep_lead_areas(session: Session, user, councils: list[dict]) -> None:
    """Make ``councils`` (each council area's columns, in the order of the user's
    ``areas``: by name), read with a page's other look-ups, the user's ``areas`` as if
    loaded, so that nothing reads them again in the request (``own_units``,
    ``has_own_figures``). Each is the session's own copy of the council, made without a
    statement (``merge`` without loading)."""
    areas = []
    for values in councils:
        area = CouncilArea(**values)
        make_transient_to_detached(area)
        areas.append(session.merge(area, load=False))
    set_committed_value(user, "areas", areas)


def _service_units(session: Session, organisation_id: int) -> list[Unit]:
    rows = session.execute(
        sa.select(Service.id, Service.external_id, Service.name)
        .where(Service.organisation_id == organisation_id)
        .order_by(Service.name, Service.id)
    )
    return [Unit("service", ext or str(sid), name, f"service:{sid}") for sid, ext, name in rows]


def _scheme_units(session: Session, scheme_id: int) -> list[Unit]:
    scheme = session.get(Scheme, scheme_id)
    if scheme is None or not scheme.active:
        return []
    units = []
    if "scheme" in FAMILY:  # schemes published as a grouping of their own
        units.append(Unit("scheme", scheme.code, scheme.name, f"scheme:{scheme.code}"))
    units += [
        Unit("custody_suite", s.code, s.name, f"custody_suite:{s.code}") for s in scheme.suites
    ]
    return units


def _group_units(session: Session, councils) -> list[Unit]:
    ids = []
    for kind in ("adp", "police_division", "health_board"):
        for council in councils:
            group_id = getattr(council, f"{kind}_id")
            if group_id not in ids:
                ids.append(group_id)
    groups = {g.id: g for g in session.scalars(sa.select(AreaGroup).where(AreaGroup.id.in_(ids)))}
    return [
        Unit(
            str(groups[i].kind),
            groups[i].code,
            groups[i].name,
            f"{groups[i].kind}:{groups[i].code}",
        )
        for i in ids
        if i in groups
    ]


def own_units(session: Session, user, grouping: str | None = None) -> list[Unit]:
    """The units whose figures ``user`` sees first (their own), most local first; with
    ``grouping``, at least those of that grouping (a lead's ADPs and divisions are read
    only when asked for)."""
    if not getattr(user, "is_authenticated", False):
        return []
    units: list[Unit] = []
    if lead_areas(user):
        units += [Unit("council", c.code, c.name, f"council:{c.code}") for c in user.areas]
        if grouping in (None, "adp", "police_division"):
            groups = _group_units(session, user.areas)
            units += [u for u in groups if u.grouping != "health_board"]
    if supervisor(user):
        suite = session.get(CustodySuite, user.custody_suite_id)
        units.append(Unit("custody_suite", suite.code, suite.name, f"custody_suite:{suite.code}"))
        division = session.get(AreaGroup, suite.council_area.police_division_id)
        units.append(
            Unit(
                "police_division", division.code, division.name, f"police_division:{division.code}"
            )
        )
    if provider_manager(user):
        org = session.get(Organisation, user.organisation_id)
        code = org.external_id or str(org.id)
        units.append(Unit("provider", code, org.name, f"provider:{org.id}"))
        units += _service_units(session, org.id)
    if scheme_lead(user):
        units += [u for u in _scheme_units(session, user.scheme_id) if u not in units]
    return units


def own_codes(session: Session, user, grouping: str) -> set[str]:
    """Codes of the user's own units in ``grouping``, to mark them in tables and maps."""
    return {u.code for u in own_units(session, user, grouping) if u.grouping == grouping}


def may_see(session: Session, user, unit: Unit) -> bool:
    """Leads and administrators see every unit; others only their own."""
    if sees_every_area(user):
        return True
    return any(u.key == unit.key for u in own_units(session, user))


def find_unit(session: Session, grouping: str, code: str) -> Unit | None:
    """The unit of ``grouping`` with ``code`` (as in its URL), or None."""
    if grouping not in FAMILY:
        return None
    if grouping in BY_ID:
        model = Service if grouping == "service" else Organisation
        # By id, as addresses now hold it; a reference not all digits, as older ones did.
        if code.isdigit():
            found = session.get(model, int(code))
        else:
            found = session.scalar(sa.select(model).where(model.external_id == code))
        if found is None:
            return None
        return Unit(
            grouping, found.external_id or str(found.id), found.name, f"{grouping}:{found.id}"
        )
    if grouping == "scheme":  # inactive schemes too: their past figures stay reachable
        scheme = session.scalar(sa.select(Scheme).where(Scheme.code == code))
        return scheme and Unit("scheme", scheme.code, scheme.name, f"scheme:{scheme.code}")
    for key, area_code, name in area_names(session, grouping):
        if area_code == code:
            return Unit(grouping, code, name, key)
    return None


def own_names(table, codes: set[str]) -> set[str]:
    """The names of a table's rows that are the user's own (by code)."""
    return {row.name for row in table.rows if row.code in codes}


def mark_own(items: list, names: set[str]) -> list:
    """Say "your area" beside the user's own areas in a chart's labels (text, not colour
    alone); returns the items marked."""
    marked = [item for item in items if item.label in names]
    for item in marked:
        item.label = f"{item.label} (your area)"
    return marked
