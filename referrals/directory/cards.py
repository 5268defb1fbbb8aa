"""A page of search results as the search page shows them: one card per service, read
as plain rows (the service with its organisation and the location shown, its types,
its opening hours) in one statement, with today's hours, the distance and whether
the listing is stale worked out here rather than in the template; and each card's
HTML, written here (``card_html``) rather than by a template macro, which spent more
on escaping every value than on the page's own work."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import NamedTuple

import sqlalchemy as sa
from markupsafe import Markup
from sqlalchemy.orm import Session

from ..form_html import escape_text as _e
from ..models import Location, OpeningHours, Organisation, Service, ServiceType, service_type_links
from ..phones import dialable
from ..templating import format_date
from .access import AddressViewer
from .hours import holiday_note, today_text

# Where the service id goes in a URL built once for every card.
ID_PLACEHOLDER = "987654321"


class Address(NamedTuple):
    address_1: str
    address_2: str | None
    town: str
    postcode: str


class Sitting(NamedTuple):
    weekday: int
    opens: dt.time
    closes: dt.time


@dataclass
class Card:
    id: int
    name: str
    url: str
    organisation: str
    alert: str | None
    types: list[str]
    same_day_access: bool
    gender: str
    veterans_only: bool
    accepts_custody_referrals: bool
    phone: str | None
    last_verified_on: dt.date | None
    stale: bool
    hours_today: str
    location: Address | None
    distance_km: float | None
    # The address is confidential for this viewer: the distance is from the town and
    # only the town is shown.
    address_hidden: bool
    refer_url: str | None = None


def is_stale(last_verified_on: dt.date | None, today: dt.date, limit_days: int) -> bool:
    """Never checked, or not checked for more than ``limit_days``."""
    return last_verified_on is None or (today - last_verified_on).days > limit_days


@dataclass(frozen=True)
class CardLoader:
    """Loads a page of cards (a ``load`` for ``search.search_services``). The URLs have
    ``ID_PLACEHOLDER`` where the service id goes; ``refer_url`` is None for someone who
    cannot refer."""

    now_local: dt.datetime
    stale_after_days: int
    detail_url: str
    refer_url: str | None = None

    def __call__(
        self,
        session: Session,
        page_ids: list[int],
        exact: dict[int, tuple[float, int]],
        viewer: AddressViewer,
    ) -> list[Card]:
        if not page_ids:
            return []
        rows, types, hours = _page(session, page_ids, exact)
        today = self.now_local.date()
        holiday = holiday_note(today)
        cards = []
        for service_id in page_ids:
            r = rows[service_id]
            key = str(service_id)
            refer = (
                self.refer_url.replace(ID_PLACEHOLDER, key)
                if self.refer_url and r.accepts_custody_referrals
                else None
            )
            cards.append(
                Card(
                    id=service_id,
                    name=r.name,
                    url=self.detail_url.replace(ID_PLACEHOLDER, key),
                    organisation=r.organisation,
                    alert=r.alert,
                    types=types.get(service_id, []),
                    same_day_access=r.same_day_access,
                    gender=r.gender.value,
                    veterans_only=r.veterans_only,
                    accepts_custody_referrals=r.accepts_custody_referrals,
                    phone=r.phone,
                    last_verified_on=r.last_verified_on,
                    stale=is_stale(r.last_verified_on, today, self.stale_after_days),
                    hours_today=today_text(hours.get(service_id, []), self.now_local, holiday),
                    location=(
                        Address(r.address_1, r.address_2, r.town, r.postcode)
                        if r.location_id is not None
                        else None
                    ),
                    distance_km=exact[service_id][0] if service_id in exact else None,
                    address_hidden=not viewer.reveals(r.confidential_address, r.organisation_id),
                    refer_url=refer,
                )
            )
        return cards


_IDS = sa.bindparam("ids", expanding=True)
_NEAREST = sa.bindparam("nearest", expanding=True)
_FIRST = (
    sa.select(sa.func.min(Location.id))
    .where(Location.service_id == Service.id)
    .correlate(Service)
    .scalar_subquery()
)
# A card's own columns after the id, kind, order, name and times every row has.
_CARD_COLUMNS = (
    Organisation.name.label("organisation"),
    Service.organisation_id,
    Service.alert,
    Service.same_day_access,
    Service.gender,
    Service.veterans_only,
    Service.accepts_custody_referrals,
    Service.phone,
    Service.last_verified_on,
    Service.confidential_address,
    Location.id.label("location_id"),
    Location.address_1,
    Location.address_2,
    Location.town,
    Location.postcode,
)
SERVICE, TYPE, HOURS = 0, 1, 2


def _null(column: sa.ColumnElement) -> sa.ColumnElement:
    return sa.cast(sa.null(), column.type)


def _page_select(shown: sa.ColumnElement[bool]) -> sa.Select:
    """The page's services with their organisation's name and the location ``shown``
    (kind ``SERVICE``), their type names (``TYPE``, in the taxonomy's order) and their
    opening hours (``HOURS``), in one statement: each statement costs a request more
    than its rows do. Every row has the service's id, its kind, an order (the type's
    place in the taxonomy, or the weekday), a name (the service's or the type's) and
    opening times; a service's row has its card's columns too."""
    blanks = [_null(c) for c in _CARD_COLUMNS]
    services = (
        sa.select(
            Service.id,
            sa.literal_column(str(SERVICE), sa.Integer).label("kind"),
            _null(ServiceType.sort_order).label("n"),
            Service.name,
            _null(OpeningHours.opens).label("opens"),
            _null(OpeningHours.closes).label("closes"),
            *_CARD_COLUMNS,
        )
        .join(Organisation, Organisation.id == Service.organisation_id)
        .outerjoin(Location, sa.and_(Location.service_id == Service.id, shown))
        .where(Service.id.in_(_IDS))
    )
    types = (
        sa.select(
            service_type_links.c.service_id,
            sa.literal_column(str(TYPE), sa.Integer),
            ServiceType.sort_order,
            ServiceType.name,
            _null(OpeningHours.opens),
            _null(OpeningHours.closes),
            *blanks,
        )
        .join(ServiceType, ServiceType.id == service_type_links.c.service_type_id)
        .where(service_type_links.c.service_id.in_(_IDS))
    )
    hours = sa.select(
        OpeningHours.service_id,
        sa.literal_column(str(HOURS), sa.Integer),
        OpeningHours.weekday,
        _null(ServiceType.name),
        OpeningHours.opens,
        OpeningHours.closes,
        *blanks,
    ).where(OpeningHours.service_id.in_(_IDS))
    rows = sa.union_all(services, types, hours).subquery()
    return sa.select(rows).order_by(rows.c.kind, rows.c.id, rows.c.n, rows.c.opens)


# The page's services shown at their nearest location (``nearest``: their ids), or
# without a distance at their first; built once, run with the page's ids.
_AT_NEAREST = _page_select(Location.id.in_(_NEAREST))
_AT_FIRST = _page_select(Location.id == _FIRST)
_AT_EITHER = _page_select(
    sa.or_(
        Location.id.in_(_NEAREST),
        sa.and_(
            Service.id.not_in(sa.bindparam("measured", expanding=True)), Location.id == _FIRST
        ),
    )
)


def _page(
    session: Session, page_ids: list[int], exact: dict[int, tuple[float, int]]
) -> tuple[dict[int, sa.Row], dict[int, list[str]], dict[int, list[Sitting]]]:
    """The services' rows, type names and opening hours, by service id."""
    nearest = [exact[i][1] for i in page_ids if i in exact]
    if len(nearest) == len(page_ids):
        statement, parameters = _AT_NEAREST, {"ids": page_ids, "nearest": nearest}
    elif not nearest:
        statement, parameters = _AT_FIRST, {"ids": page_ids}
    else:
        measured = [i for i in page_ids if i in exact]
        statement = _AT_EITHER
        parameters = {"ids": page_ids, "nearest": nearest, "measured": measured}
    services: dict[int, sa.Row] = {}
    names: dict[int, list[str]] = {}
    sittings: dict[int, list[Sitting]] = {}
    for row in session.connection().execute(statement, parameters).all():
        service_id, kind, n, name, opens, closes = row[:6]
        if kind == SERVICE:
            services[service_id] = row
        elif kind == TYPE:
            names.setdefault(service_id, []).append(name)
        else:
            sittings.setdefault(service_id, []).append(Sitting(n, opens, closes))
    return services, names, sittings


# -- a card's HTML ---------------------------------------------------------------------

STALE_TAG = (
    ' <span class="tag tag-warning">Not checked for over 6 months: confirm details before '
    "relying on them</span>"
)
GENDER_TAGS = {
    "female": '<li class="tag">Women only</li>',
    "male": '<li class="tag">Men only</li>',
}


def card_html(card: Card) -> Markup:
    """One service in a list of results, as the search page shows it: the markup the
    ``service_card`` macro wrote (whitespace included), with every text value escaped."""
    sid, name = card.id, _e(card.name)
    alert = (
        f'<p class="notice notice-warning"><strong>Alert:</strong> {_e(card.alert)}</p>'
        if card.alert
        else ""
    )
    return Markup(  # noqa: S704 - every text value escaped above or in the helpers
        f'\n<article class="result" aria-labelledby="service-{sid}-name">\n'
        f'  <h3 id="service-{sid}-name"><a href="{_e(card.url)}">{name}</a></h3>\n'
        f'  <p class="muted">{_e(card.organisation)}</p>\n'
        f"  {alert}\n"
        f"{_tags(card)}"
        f'  <dl class="summary">\n'
        f"{_summary(card)}"
        f"  </dl>\n"
        f"</article>\n"
        f"{_refer(card, name)}\n"
    )


def _tags(card: Card) -> str:
    """The list of the service's types and access tags."""
    types = "".join(f'<li class="tag">{_e(t)}</li>' for t in card.types)
    same_day = '<li class="tag tag-ok">Same-day access</li>' if card.same_day_access else ""
    veterans = '<li class="tag">Veterans only</li>' if card.veterans_only else ""
    custody = (
        ""
        if card.accepts_custody_referrals
        else '<li class="tag tag-warning">No custody referrals</li>'
    )
    return (
        '  <ul class="tag-list" aria-label="Types of service">\n'
        f"    {types}\n"
        f"    {same_day}\n"
        f"    {GENDER_TAGS.get(card.gender, '')}\n"
        f"    {veterans}\n"
        f"    {custody}\n"
        "  </ul>\n"
    )


def _summary(card: Card) -> str:
    """The distance, today's hours, address, phone and when last checked."""
    distance = ""
    if card.distance_km is not None:
        town = " (from the town centre)" if card.address_hidden else ""
        distance = f"<dt>Distance</dt><dd>{card.distance_km:.1f} km{town}</dd>"
    address = "\n"
    if card.location:
        address = f"\n    \n    <dt>Address</dt>\n    <dd>{_address(card)}</dd>\n    \n"
    phone = ""
    if card.phone:
        number = _e(dialable(card.phone))
        phone = f'<dt>Phone</dt><dd><a href="tel:{number}">{_e(card.phone)}</a></dd>'
    checked = format_date(card.last_verified_on) if card.last_verified_on else "Never"
    return (
        f"    {distance}\n"
        f"    <dt>Opening</dt><dd>{_e(card.hours_today)}</dd>\n"
        f"    {address}"
        f"    {phone}\n"
        "    <dt>Last checked</dt>\n"
        f"    <dd>{_e(checked)}\n"
        f"      {STALE_TAG if card.stale else ''}</dd>\n"
    )


def _address(card: Card) -> str:
    location = card.location
    if card.address_hidden:
        return f"{_e(location.town)}. The address is confidential: it is given to referrers."
    second = f", {_e(location.address_2)}" if location.address_2 else ""
    return f"{_e(location.address_1)}{second}, {_e(location.town)} {_e(location.postcode)}"


def _refer(card: Card, name: str) -> str:
    """The button to refer to the service, for someone who may (``name`` escaped)."""
    if not card.refer_url:
        return ""
    return (
        f'\n<p><a class="button button-secondary" href="{_e(card.refer_url)}">Refer to this '
        f'service<span class="visually-hidden">: {name}</span></a></p>\n'
    )
