"""The nation this installation serves, as data rather than code.

A data pack's ``nation.csv`` (loaded by ``seed-reference``) names the national comparator
every area is compared with ("Compared with <name>"), the four geography levels (the
atomic council or local authority area, and the three groupings of them), the postcode
areas the directory covers and the bank-holiday region for working days. Pages read the
settings once per request (or per command) through ``current()``; templates get them as
``nation`` and ``national_name``. The same statement tells whether demo data is loaded (the
banner every page shows), so a page pays for one small read of the installation's settings.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass, field

import sqlalchemy as sa
from flask import Flask, g, has_app_context
from sqlalchemy.exc import SQLAlchemyError

from .extensions import db
from .models import AppSetting, NationSetting

DEMO_SETTING = "demo_data"  # the app setting the demo loader writes
_DEMO_ROW = "*demo_data"  # how the combined read marks it (no nation setting has a "*")

LEVELS = ("council", "adp", "police_division", "health_board")

# Used until a data pack is loaded: words that are true anywhere.
DEFAULT_NAME = "all areas"
DEFAULT_LABELS = {
    "council": "Council area",
    "adp": "Alcohol and Drug Partnership",
    "police_division": "Police division",
    "health_board": "Health board",
}
DEFAULT_PLURALS = {
    "council": "council areas",
    "adp": "Alcohol and Drug Partnerships",
    "police_division": "police divisions",
    "health_board": "health boards",
}
SETTING_KEYS = {
    "national_name",
    "postcode_areas",
    "bank_holiday_region",
    "example_postcode",
    "example_district",
    "example_place",
    *(f"label_{level}" for level in LEVELS),
    *(f"plural_{level}" for level in LEVELS),
}
# GOV.UK's bank-holiday divisions, and the subdivisions of the ``holidays`` package.
HOLIDAY_REGIONS = {
    "scotland": "SCT",
    "england-and-wales": "ENG",
    "northern-ireland": "NIR",
    "SCT": "SCT",
    "ENG": "ENG",
    "WLS": "WLS",
    "NIR": "NIR",
}


def holiday_region(value: str) -> str | None:
    """The ``holidays`` subdivision for a region named either way, or None."""
    return HOLIDAY_REGIONS.get(value.strip()) or HOLIDAY_REGIONS.get(value.strip().upper())


@dataclass(frozen=True)
class Nation:
    name: str = DEFAULT_NAME
    labels: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LABELS))
    plurals: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_PLURALS))
    postcode_areas: tuple[str, ...] = ()
    bank_holiday_region: str | None = None  # a ``holidays`` subdivision, e.g. "SCT"
    examples: dict[str, str] = field(default_factory=dict)  # postcode, district, place

    def label(self, level: str) -> str:
        return self.labels[level]

    def plural(self, level: str) -> str:
        return self.plurals[level]

    def heading(self, level: str) -> str:
        """The plural as a heading: "Police divisions", "Alcohol and Drug Partnerships"."""
        plural = self.plurals[level]
        return plural[:1].upper() + plural[1:]

    def in_sentence(self, level: str) -> str:
        """The label mid-sentence: "police division", but "Alcohol and Drug Partnership"."""
        label = self.labels[level]
        return label if any(c.isupper() for c in label[1:]) else label[:1].lower() + label[1:]

    def like(self, kind: str, before: str = ", like ", after: str = "") -> str:
        """An example for a hint ("G31" for ``district``), wrapped; "" when the pack has none."""
        example = self.examples.get(kind)
        return f"{before}{example}{after}" if example else ""

    @property
    def search_examples(self) -> str:
        """ "G31 2AB, G31 or Kirkcaldy": the pack's examples of what to search for."""
        found = [self.examples[k] for k in ("postcode", "district", "place") if k in self.examples]
        return ", ".join(found[:-1]) + " or " + found[-1] if len(found) > 1 else "".join(found)

    @property
    def coverage(self) -> str:
        """Where the directory covers, for messages: the name, or the postcode areas."""
        return self.name if self.name != DEFAULT_NAME else "the areas loaded"


def from_settings(settings: dict[str, str]) -> Nation:
    labels = {lv: settings.get(f"label_{lv}", DEFAULT_LABELS[lv]) for lv in LEVELS}
    plurals = {lv: settings.get(f"plural_{lv}", DEFAULT_PLURALS[lv]) for lv in LEVELS}
    region = settings.get("bank_holiday_region")
    return Nation(
        name=settings.get("national_name", DEFAULT_NAME),
        labels=labels,
        plurals=plurals,
        postcode_areas=tuple(settings.get("postcode_areas", "").upper().split()),
        bank_holiday_region=holiday_region(region) if region else None,
        examples={
            kind: settings[f"example_{kind}"]
            for kind in ("postcode", "district", "place")
            if settings.get(f"example_{kind}")
        },
    )


def load(session) -> Nation:
    return _read(session)[0]


@functools.cache
def _settings_statement() -> sa.CompoundSelect:
    """The nation's settings, and a row more when demo data is loaded: built once per
    process, since every page runs it."""
    demo = sa.select(sa.literal(_DEMO_ROW), sa.literal("")).where(
        sa.exists().where(AppSetting.key == DEMO_SETTING)
    )
    return sa.select(NationSetting.key, NationSetting.value).union_all(demo)


@functools.cache
def settings_columns(dialect: str) -> tuple[sa.ScalarSelect, sa.Exists]:
    """The nation's settings as one JSON object, and whether demo data is loaded, as two
    columns another statement can carry: every signed-in request reads its user anyway,
    so the page's settings come with it rather than in a round trip of their own."""
    aggregate = sa.func.json_object_agg if dialect == "postgresql" else sa.func.json_group_object
    settings = sa.select(
        sa.cast(aggregate(NationSetting.key, NationSetting.value), sa.Text)
    ).scalar_subquery()
    demo = sa.exists().where(AppSetting.key == DEMO_SETTING)
    return settings.label("nation_settings"), demo.label("demo_data_loaded")


def remember(settings_json: str | None, demo_loaded: bool) -> None:
    """Keep for this request the settings read by ``settings_columns``, as ``current``
    would have read them."""
    settings = json.loads(settings_json) if settings_json else {}
    rows = sorted(settings.items())
    if demo_loaded:
        rows.append((_DEMO_ROW, ""))
        rows.sort()
    g._nation, g._demo_data = _from_rows(tuple(rows))


@functools.lru_cache(maxsize=8)
def _from_rows(rows: tuple[tuple[str, str], ...]) -> tuple[Nation, bool]:
    """The nation and the demo flag from the rows read (the same rows give the same
    nation, so it is made once per process for each set of settings)."""
    settings = dict(rows)
    demo_loaded = settings.pop(_DEMO_ROW, None) is not None
    return from_settings(settings), demo_loaded


def _read(session) -> tuple[Nation, bool]:
    """The nation's settings and whether demo data is loaded, in one statement."""
    rows = session.connection().execute(_settings_statement()).all()
    return _from_rows(tuple(sorted((key, value) for key, value in rows)))


def current() -> Nation:
    """This installation's nation, read once per request or command."""
    if not has_app_context():
        return Nation()
    nation = g.get("_nation")
    if nation is None:
        nation, g._demo_data = _read(db.session)
        g._nation = nation
    return nation


def demo_data_loaded() -> bool:
    """Whether demo data is loaded, read with the nation's settings; False when the
    database cannot be read (an error page)."""
    if not has_app_context():
        return False
    if "_demo_data" not in g:
        try:
            current()
        except SQLAlchemyError:
            db.session.rollback()
            return False
    return g._demo_data


def forget() -> None:
    """Read the settings again next time (after loading a data pack or the demo data)."""
    if has_app_context():
        g.pop("_nation", None)
        g.pop("_demo_data", None)


def init_app(app: Flask) -> None:
    @app.context_processor
    def nation_context() -> dict:
        try:
            nation = current()
        except SQLAlchemyError:  # an error page while the database is down
            nation = Nation()
        return {"nation": nation, "national_name": nation.name}
