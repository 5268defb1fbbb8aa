"""The places, postcode districts and postcodes one search looks up, each read from the
database once, as plain rows: reading the search box asks whether "G31" is a place,
and placing the origin then needs the same row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import CouncilArea, Place, Postcode, PostcodeDistrict
from ..seed.reference import place_key

_KEY = sa.bindparam("key")
_DISTRICT = sa.select(
    PostcodeDistrict.district,
    PostcodeDistrict.area,
    PostcodeDistrict.council_area_id,
    PostcodeDistrict.latitude,
    PostcodeDistrict.longitude,
).where(PostcodeDistrict.district == _KEY)
_POSTCODE = sa.select(
    Postcode.postcode, Postcode.latitude, Postcode.longitude, Postcode.council_area_id
).where(Postcode.postcode == _KEY)
_PLACE = sa.select(
    Place.name, Place.council_area_id, Place.latitude, Place.longitude, Place.population
).where(Place.name_key == _KEY)
_COUNCILS = sa.select(
    CouncilArea.id, CouncilArea.name, CouncilArea.latitude, CouncilArea.longitude
).order_by(CouncilArea.id)


class Gazetteer:
    def __init__(self, session: Session):
        self.session = session
        self._seen: dict[tuple[str, str], sa.Row | None] = {}
        self._councils: dict[str, sa.Row] | None = None

    def _once(self, kind: str, query: sa.Select, key: str) -> sa.Row | None:
        if (kind, key) not in self._seen:
            self._seen[kind, key] = self.session.connection().execute(query, {"key": key}).first()
        return self._seen[kind, key]

    def district(self, district: str) -> sa.Row | None:
        """The postcode district (district, area, council_area_id, latitude,
        longitude)."""
        return self._once("district", _DISTRICT, district)

    def postcode(self, postcode: str) -> sa.Row | None:
        """The full postcode (postcode, latitude, longitude, council_area_id)."""
        return self._once("postcode", _POSTCODE, postcode)

    def place(self, key: str) -> sa.Row | None:
        """The place whose name key is ``key`` (see ``seed.reference.place_key``): name,
        council_area_id, latitude, longitude, population."""
        return self._once("place", _PLACE, key)

    def council(self, key: str) -> sa.Row | None:
        """The council area whose name has the place key ``key`` ("Fife", "East
        Lothian"): id, name, latitude, longitude (its centre). The councils are read
        once, when first asked for."""
        if self._councils is None:
            rows = self.session.connection().execute(_COUNCILS).all()
            self._councils = {place_key(row.name): row for row in rows}
        return self._councils.get(key)
