"""The published figures as data (``/api/v1/reports/...``): the same area tables the
pages draw and the CSV lists, read from the same day's protected figures, with each
figure's cells taken from the CSV's own ``measure_cells`` so the two cannot disagree.

A figure not shown is ``null`` with its reason (``null_reason``; ``hidden`` is true
when the figure exists but is withheld or not published): ``small_count`` (``<5``: from
1 to 4, or a rate whose numerator or the rest of its denominator is),
``small_denominator`` (about
fewer than 10 referrals), ``secondary`` (``[c]``: hidden so a hidden figure cannot be
worked out from the others), ``withdrawn`` (not published for these areas, for the same
reason), ``scotland_only`` (published for the whole nation only), ``not_published`` (not published
for this period: not yet followed up long enough), ``no_referrals`` (nothing to work a
rate or a wait out from). Nothing hidden is ever in an answer, not even its size.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from .exports import MEASURES_IN_TABLE, measure_cells
from .measures import BREAKDOWNS, GROUPING_LABELS, MEASURES, RATES
from .snapshot import Snapshot
from .tables import AreaTable, Row, area_table, make_row

NATIONAL_MEASURES = tuple(MEASURES)
# Null for want of anything to count, not withheld.
NOT_HIDDEN = {"no_referrals"}


def settings_block(snapshot: Snapshot) -> dict[str, Any]:
    """The windows and thresholds the figures were worked out and protected with."""
    settings = snapshot.settings
    return {
        "engagement_window_days": settings.get("engagement_days"),
        "treatment_window_days": settings.get("treatment_days"),
        "count_threshold": settings.get("threshold"),
        "min_denominator": settings.get("min_denominator"),
        "large_area_referrals": settings.get("large_area"),
    }


def period_block(period: dict[str, Any]) -> dict[str, Any]:
    return {
        "code": period["code"],
        "label": period["label"],
        "kind": period["kind"],
        "start": period["start"],
        "end": period["end"],
        "scotland_only": bool(period["scotland_only"]),
        "groups_of_people": bool(period["breakdowns"]),
        "measures_below_scotland": list(period["below"]),
        "measures_for_scotland": list(period["scotland"]),
    }


def header(snapshot: Snapshot, period: dict[str, Any] | None) -> dict[str, Any]:
    return {
        "as_of": snapshot.as_of.isoformat(),
        "period": period_block(period) if period else None,
        "settings": settings_block(snapshot),
    }


def hidden_label(label: str, settings: dict) -> dict[str, str]:
    """The reason code for a hidden figure's label."""
    codes = {
        f"<{settings.get('threshold', 5)}": "small_count",
        f"fewer than {settings.get('min_denominator', 10)}": "small_denominator",
        "[c]": "secondary",
        "not published": "withdrawn",
    }
    return {"code": codes.get(label, "withheld"), "label": label}


def _reason(row: Row, measure: str, note: str, settings: dict) -> dict[str, str] | None:
    if measure in RATES:
        label, missing = row.rates[measure].label, row.rates[measure].missing
    elif measure == "median_days_to_treatment":
        label, missing = row.to_treatment.label, None
    else:
        figure = row.counts["made" if measure == "referrals" else measure]
        label, missing = figure.label, figure.missing
    if label:
        return hidden_label(label, settings)
    if missing:
        code = "scotland_only" if missing.startswith("published for ") else "not_published"
        return {"code": code, "label": note or missing}
    kind = "waits" if measure == "median_days_to_treatment" else "referrals"
    return {"code": "no_referrals", "label": f"no {kind}"}


def figure(row: Row, measure: str, settings: dict) -> dict[str, Any]:
    """One measure of one row, exactly as the CSV row gives it."""
    cells = [None if cell == "" else cell for cell in measure_cells(row, measure, row.national)]
    value, numerator, denominator, low95, high95, low998, high998, compared, note = cells
    reason = None if value is not None else _reason(row, measure, note or "", settings)
    return {
        "value": value,
        "numerator": numerator,
        "denominator": denominator,
        "ci95": None if low95 is None else [low95, high95],
        "ci998": None if low998 is None else [low998, high998],
        "compared_with_national": compared,
        "null_reason": reason,
        "hidden": reason is not None and reason["code"] not in NOT_HIDDEN,
    }


def row_block(row: Row, settings: dict, measures=MEASURES_IN_TABLE) -> dict[str, Any]:
    block: dict[str, Any] = {
        "code": "national" if row.national else row.code,
        "name": row.name,
        "figures": {m: figure(row, m, settings) for m in measures},
    }
    target = row.target
    block["target"] = (
        None
        if target is None
        else {
            "measure": target.measure.code,
            "value": target.value,
            "rag": target.rag,
            "start": target.period_start.isoformat(),
            "end": target.period_end.isoformat(),
        }
    )
    return block


def areas(table: AreaTable, snapshot: Snapshot) -> dict[str, Any]:
    """``/api/v1/reports/areas``: every area of a grouping, one period and group."""
    return {
        **header(snapshot, table.period),
        "grouping": {"code": table.grouping, "label": GROUPING_LABELS[table.grouping]},
        "people": table.group,
        "measures": list(MEASURES_IN_TABLE),
        "areas": [row_block(row, table.settings) for row in table.rows],
        "national": row_block(table.national, table.settings),
    }


def area_table_for(session: Session, choices, national_name: str) -> AreaTable:
    """The table the area page and its CSV show for the same choices."""
    return area_table(
        session,
        choices.snapshot,
        choices.grouping,
        choices.period,
        group=choices.people,
        measure=choices.measure,
        national_name=national_name,
    )


def national(snapshot: Snapshot, period: dict[str, Any], national_name: str) -> dict[str, Any]:
    """``/api/v1/reports/national``: the nation's figures for a period, for each group of
    people where the period has them, and why referrals closed or were declined."""
    settings = snapshot.settings
    entry = snapshot.part("area", period["code"]).get("national", {})
    now = make_row("national", "national", national_name, entry, {})
    groups = []
    if period.get("breakdowns"):
        for name, (label, codes, names) in BREAKDOWNS.items():
            rows = []
            for code, group_name in zip(codes, names, strict=True):
                part = snapshot.part("area", period["code"], f"{name}:{code}")
                row = make_row(code, code, group_name, part.get("national", {}), {})
                rows.append(row_block(row, settings, NATIONAL_MEASURES) | {"code": code})
            groups.append({"dimension": name, "label": label, "groups": rows})
    return {
        **header(snapshot, period),
        "national": row_block(now, settings, NATIONAL_MEASURES),
        "groups_of_people": groups,
        "reasons": {
            kind: _reasons(snapshot.reasons.get(kind, {}).get(period["code"]), settings)
            for kind in ("closed", "declined")
        },
    }


def _reasons(values: dict | None, settings: dict) -> dict[str, Any] | None:
    if values is None:
        return None
    return {
        code: {"value": value, "null_reason": None, "hidden": False}
        if isinstance(value, int)
        else {"value": None, "null_reason": hidden_label(str(value), settings), "hidden": True}
        for code, value in values.items()
    }


def series_block(rows, settings: dict) -> list[dict[str, Any]]:
    """Trends: each period with the area's figures beside the nation's."""
    return [
        {
            "period": period_block(item.period),
            "area": row_block(item.area, settings)["figures"],
            "national": row_block(item.national, settings)["figures"],
        }
        for item in rows
    ]
