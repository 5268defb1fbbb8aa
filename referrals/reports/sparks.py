"""Small trend charts for a profile: one per rate, the unit's rate in each period (by
quarter where its quarterly rates are published, otherwise by year) as points joined by a
line, with the nation's rate as a dashed line on the same 0 to 100% scale. A period whose
rate is not shown is a gap, never a guess. Values are drawn as the tables round them; the
trend tables on the same page carry every figure in words."""

from __future__ import annotations

from dataclasses import dataclass

from .profiles import Line, TrendPoint

WIDTH, HEIGHT, PAD = 240, 80, 8


@dataclass
class Spark:
    label: str
    kind: str  # "quarter" or "year"
    points: list[tuple[float, float, str]]  # x, y, the value as text
    segments: list[str]  # SVG paths of the unit's line, broken at gaps
    national: str  # SVG path of the nation's line
    summary: str  # words for the chart


def _path(coords: list[tuple[float, float]]) -> str:
    return "M" + " L".join(f"{x:.1f},{y:.1f}" for x, y in coords)


def spark(line: Line, series: list[TrendPoint], kind: str) -> Spark:
    code = line.measure.code
    step = (WIDTH - 2 * PAD) / max(len(series) - 1, 1)

    def y(value: float) -> float:
        return HEIGHT - PAD - (HEIGHT - 2 * PAD) * value

    points, segments, run, national = [], [], [], []
    for i, point in enumerate(series):
        x = PAD + i * step
        value = point.row.rates[code].shown_rate
        if value is None:
            if len(run) > 1:
                segments.append(_path(run))
            run = []
        else:
            run.append((x, y(value)))
            points.append((x, y(value), point.row.rates[code].text))
        scotland = point.national.rates[code].shown_rate
        if scotland is not None:
            national.append((x, y(scotland)))
    if len(run) > 1:
        segments.append(_path(run))
    shown = [p for p in series if p.row.rates[code].shown_rate is not None]
    if shown:
        first, last = shown[0], shown[-1]
        summary = (
            f"{line.measure.label}: {first.row.rates[code].text} in {first.period['label']}, "
            f"{last.row.rates[code].text} in {last.period['label']}; "
            f"{len(series) - len(shown)} of {len(series)} periods not shown"
        )
    else:
        summary = f"{line.measure.label}: not shown for any of these periods"
    return Spark(
        line.measure.label,
        kind,
        points,
        segments,
        _path(national) if len(national) > 1 else "",
        summary,
    )


def sparks(lines: list[Line], quarters: list[TrendPoint], years: list[TrendPoint]) -> list[Spark]:
    """A small chart per rate: by quarter when at least two quarters show the rate."""
    out = []
    for line in lines:
        if line.measure.kind != "rate":
            continue
        code = line.measure.code
        by_quarter = sum(p.row.rates[code].shown_rate is not None for p in quarters) >= 2
        series, kind = (quarters, "quarter") if by_quarter else (years, "year")
        if series:
            out.append(spark(line, series, kind))
    return out
