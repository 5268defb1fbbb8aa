"""Attribution for loaded open data, shown on every map that draws it.

Official boundary and postcode files come under the Open Government Licence, which asks
for an attribution statement wherever the data is shown. The statement is kept with the
data when it is loaded (the file's publisher knows the year and the source), so every
map, in every worker, shows the one that belongs to what is loaded.
"""

from __future__ import annotations

import datetime as dt

from sqlalchemy.orm import Session

from .models import AppSetting

BOUNDARIES = "attribution.boundaries"
POSTCODES = "attribution.postcodes"


def default_boundaries_attribution(year: int | None = None) -> str:
    year = year or dt.date.today().year
    return (
        "Source: Office for National Statistics licensed under the Open Government Licence "
        f"v3.0. Contains OS data © Crown copyright and database right {year}."
    )


def default_postcodes_attribution(year: int | None = None) -> str:
    year = year or dt.date.today().year
    return (
        f"Contains OS data © Crown copyright and database right {year}. Contains Royal Mail "
        f"data © Royal Mail copyright and database right {year}. Contains National "
        f"Statistics data © Crown copyright and database right {year}."
    )


def set_attribution(session: Session, key: str, text: str) -> None:
    row = session.get(AppSetting, key)
    if row is None:
        session.add(AppSetting(key=key, value=text))
    else:
        row.value = text


def attribution(session: Session, key: str) -> str | None:
    row = session.get(AppSetting, key)
    return row.value if row is not None else None
