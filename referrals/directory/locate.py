"""Where is the person? A postcode, postcode district, postcode area or town, turned
into a point to measure distances from.

Lookup order: the full postcode table (if loaded), then the postcode district table,
then the postcode area (approximate), then the optional online geocoder. Town names are
looked up in the gazetteer, then the geocoder.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field

import sqlalchemy as sa
from sqlalchemy.orm import Session

from .. import nation
from ..models import Place, PostcodeDistrict
from ..postcodes import looks_like_postcode, parse
from ..seed.reference import place_key
from .gazetteer import Gazetteer
from .geocoder import Geocoder, GeocoderFailed

MAX_QUERY = 100


@dataclass(frozen=True)
class Origin:
    latitude: float
    longitude: float
    label: str
    approximate: bool = False
    note: str | None = None
    district: str | None = None
    council_area_id: int | None = None
    also_matching: tuple[str, ...] = ()
    # Placed exactly from the loaded postcode table (whose attribution then applies).
    exact_postcode: bool = False


@dataclass(frozen=True)
class NotFound:
    query: str
    message: str
    advice: str
    suggestions: list[str] = field(default_factory=list)
    note: str | None = None


def _area_centre(session: Session, area: str) -> tuple[float, float, int | None] | None:
    row = session.execute(
        sa.select(
            sa.func.avg(PostcodeDistrict.latitude),
            sa.func.avg(PostcodeDistrict.longitude),
            sa.func.count(),
        ).where(PostcodeDistrict.area == area)
    ).one()
    if not row[2]:
        return None
    return float(row[0]), float(row[1]), None


def nearest_district(session: Session, lat: float, lon: float) -> PostcodeDistrict | None:
    """The district whose centroid is nearest (for points from the geocoder)."""
    box = 0.3
    candidates = (
        session.scalars(
            sa.select(PostcodeDistrict).where(
                PostcodeDistrict.latitude.between(lat - box, lat + box),
                PostcodeDistrict.longitude.between(lon - 2 * box, lon + 2 * box),
            )
        ).all()
        or session.scalars(sa.select(PostcodeDistrict)).all()
    )
    if not candidates:
        return None
    return min(candidates, key=lambda d: (d.latitude - lat) ** 2 + (d.longitude - lon) ** 2 / 3)


def covers_hint() -> str:
    """What the directory covers, for a postcode it does not know."""
    here = nation.current()
    areas = (
        f" (postcodes starting {', '.join(here.postcode_areas)})" if here.postcode_areas else ""
    )
    return (
        f"This directory covers {here.coverage}{areas}. Check the postcode, or try the name "
        "of the town."
    )


def _ask_geocoder(
    session: Session, geocoder: Geocoder | None, query: str
) -> tuple[Origin | None, str | None]:
    """Ask the online geocoder; return an origin or a note saying why not."""
    if geocoder is None:
        return None, None
    try:
        found = geocoder(query)
    except GeocoderFailed:
        return None, (
            "The online place finder did not answer, so only the places we hold were searched."
        )
    if found is None:
        return None, None
    lat, lon, address = found
    nearest = nearest_district(session, lat, lon)
    return (
        Origin(
            lat,
            lon,
            address.split(",")[0] if address else query,
            note=f"Found with an online map service: {address}.",
            district=nearest.district if nearest else None,
            council_area_id=nearest.council_area_id if nearest else None,
        ),
        None,
    )


def locate(
    session: Session,
    query: str,
    geocoder: Geocoder | None = None,
    gazetteer: Gazetteer | None = None,
) -> Origin | NotFound:
    """Turn what someone typed into a point, or say clearly why not. ``gazetteer`` holds
    what reading the search box already looked up."""
    gazetteer = gazetteer or Gazetteer(session)
    text = " ".join((query or "").split())[:MAX_QUERY]
    if not text:
        examples = nation.current().search_examples
        return NotFound(
            query or "",
            "Enter a postcode or a town.",
            f"For example {examples}." if examples else "",
        )
    parsed = parse(text)
    if parsed is not None and parsed.kind in ("full", "district"):
        return _locate_postcode(session, text, parsed, geocoder, gazetteer)
    if parsed is not None and parsed.kind == "area" and not gazetteer.place(place_key(text)):
        centre = _area_centre(session, parsed.area)
        if centre:
            return Origin(
                centre[0],
                centre[1],
                f"the {parsed.area} postcode area",
                approximate=True,
                note=f"Distances are from the middle of the {parsed.area} postcode area, so "
                "they are approximate. Add the rest of the postcode for a better answer.",
            )
    if looks_like_postcode(text):
        origin, note = _ask_geocoder(session, geocoder, text)
        if origin:
            return origin
        return NotFound(
            text,
            f"We could not find the postcode “{text}”.",
            "Check it for typing errors, or try just the first part"
            f"{nation.current().like('district', ' (like ', ')')} or the name of the town.",
            note=note,
        )
    return _locate_place(session, text, geocoder, gazetteer)


def _locate_postcode(session, text, parsed, geocoder, gazetteer) -> Origin | NotFound:
    if parsed.kind == "full":
        row = gazetteer.postcode(parsed.postcode)
        if row is not None:
            district = gazetteer.district(parsed.district)
            return Origin(
                row.latitude,
                row.longitude,
                parsed.postcode,
                district=parsed.district,
                council_area_id=row.council_area_id
                or (district.council_area_id if district else None),
                exact_postcode=True,
            )
    district = gazetteer.district(parsed.district)
    if district is not None:
        note = None
        if parsed.kind == "full":
            note = (
                f"Distances are from the middle of postcode district {district.district}, "
                "so they may be a few kilometres out."
            )
        return Origin(
            district.latitude,
            district.longitude,
            parsed.postcode or district.district,
            approximate=parsed.kind == "full",
            note=note,
            district=district.district,
            council_area_id=district.council_area_id,
        )
    centre = _area_centre(session, parsed.area)
    if centre is not None:
        return Origin(
            centre[0],
            centre[1],
            parsed.postcode or parsed.district,
            approximate=True,
            note=f"We do not know district {parsed.district}, so distances are from the middle "
            f"of the {parsed.area} postcode area and are approximate.",
        )
    origin, note = _ask_geocoder(session, geocoder, parsed.postcode or parsed.district)
    if origin:
        return origin
    return NotFound(
        text,
        f"We could not find the postcode “{text}”.",
        covers_hint(),
        note=note,
    )


def _locate_place(session, text, geocoder, gazetteer) -> Origin | NotFound:
    key = place_key(text)
    place = gazetteer.place(key)
    if place is None and (council := gazetteer.council(key)) is not None:
        area = nation.current().in_sentence("council")
        return Origin(
            council.latitude,
            council.longitude,
            council.name,
            approximate=True,
            note=f"{council.name} is a {area}, so distances are from its middle and are "
            "approximate. Search for a town in it for a better answer.",
            council_area_id=council.id,
        )
    also: tuple[str, ...] = ()
    if place is None and len(key) >= 3:
        matches = session.scalars(
            sa.select(Place)
            .where(Place.name_key.like(key.replace("%", "").replace("_", "") + "%"))
            .order_by(Place.population.desc().nulls_last(), Place.name)
            .limit(6)
        ).all()
        if matches:
            place, also = matches[0], tuple(p.name for p in matches[1:])
    if place is not None:
        return Origin(
            place.latitude,
            place.longitude,
            place.name,
            council_area_id=place.council_area_id,
            also_matching=also,
        )
    place_name = nation.current().name
    origin, note = _ask_geocoder(session, geocoder, f"{text}, {place_name}")
    if origin:
        return origin
    names = list(session.scalars(sa.select(Place.name)))
    suggestions = difflib.get_close_matches(text.title(), names, n=3, cutoff=0.6)
    return NotFound(
        text,
        f"We could not find a place called “{text}”.",
        "Check the spelling, or try a postcode or a nearby town.",
        suggestions=suggestions,
        note=note,
    )
