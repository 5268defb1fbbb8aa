"""The places, postcode districts and postcodes one search looks up, each read from the
database once: reading the search box asks whether "G31" is a place, and placing the
origin then needs the same row."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.orm import Session

from ..models import Place, Postcode, PostcodeDistrict


class Gazetteer:
    def __init__(self, session: Session):
        self.session = session
        self._seen: dict[tuple[str, str], object] = {}

    def _once(self, kind: str, key: str, read):
        if (kind, key) not in self._seen:
            self._seen[kind, key] = read()
        return self._seen[kind, key]

    def district(self, district: str) -> PostcodeDistrict | None:
        return self._once(
            "district", district, lambda: self.session.get(PostcodeDistrict, district)
        )

    def postcode(self, postcode: str) -> Postcode | None:
        return self._once("postcode", postcode, lambda: self.session.get(Postcode, postcode))

    def place(self, key: str) -> Place | None:
        """The place whose name key is ``key`` (see ``seed.reference.place_key``)."""
        return self._once(
            "place",
            key,
            lambda: self.session.scalar(sa.select(Place).where(Place.name_key == key)),
        )
