"""Links that differ in one value only (every area's profile, every measure's table): the
URL is built once, with a marker where the value goes, and each value written in its place
(values URL-encoding would change are built one by one, as ``url_for`` builds them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import current_app, request, url_for

from .measures import GEOGRAPHIES
from .params import AREA_GROUPINGS

MARKER = "__each__"
PLAIN = re.compile(r"[A-Za-z0-9_.~-]+\Z")  # written as they are in a path or a query
PLAIN_QUERY = re.compile(r"[A-Za-z0-9_.~:-]+\Z")  # ... in a query


def each_url(
    build: Callable[[str], str], values: Iterable[str], plain: re.Pattern = PLAIN
) -> dict[str, str]:
    """``value -> build(value)`` for every value, calling ``build`` once for plain values."""
    values = list(values)
    pattern = build(MARKER)
    before, found, after = pattern.partition(MARKER)
    fast = found and MARKER not in after
    return {
        value: f"{before}{value}{after}" if fast and plain.match(value) else build(value)
        for value in values
    }


def report_urls(endpoint: str, key: str, values: Iterable[str], **changes) -> dict[str, str]:
    """For each value, the report URL keeping the current choices with ``key`` set to it
    (and ``changes`` made as ``views.report_url`` makes them: ``None`` drops one)."""
    args = request.args.to_dict()
    for name, value in changes.items():
        if value is None:
            args.pop(name, None)
        else:
            args[name] = value

    def build(value: str) -> str:
        return url_for(endpoint, **{**args, key: value})

    return each_url(build, values, PLAIN_QUERY)


def profile_args(choices) -> dict[str, str | None]:
    """What a unit's profile link keeps of this page's choices: the period where the
    profiles offer it (not the nation's months and monthly years), and the date the
    figures were published."""
    period = request.args.get("period")
    offered = period and (choices.snapshot.period(period) or {}).get("below")
    return {"period": period if offered else None, "as_of": request.args.get("as_of")}


def profile_urls(grouping: str, codes: Iterable[str], period: str) -> dict[str, str]:
    """Each area's profile for the period."""

    def build(code: str) -> str:
        return url_for("reports.area_profile", grouping=grouping, code=code, period=period)

    return each_url(build, codes)


# The reports' menu links that keep the page's areas and measure: the same few for every
# page with the same two choices, so built once per app, script root and choices.
MENU_PAGES = ("reports.area_report", "reports.area_map", "reports.funnel", "reports.trends")
MENU_URLS_KEPT = 512


def menu_urls(group: str | None, measure: str | None) -> dict[str, str]:
    """Each of ``MENU_PAGES``' URLs with ``group`` and ``measure`` (None leaves one out),
    as ``url_for`` builds it."""
    urls = current_app.extensions.setdefault("report_menu_urls", {})
    key = (request.script_root, group, measure)
    found = urls.get(key)
    if found is None:
        if len(urls) >= MENU_URLS_KEPT:  # choices typed into the address: start again
            urls.clear()
        found = urls[key] = {
            page: url_for(page, group=_offered(page, group), measure=measure)
            for page in MENU_PAGES
        }
    return found


def _offered(page: str, group: str | None) -> str | None:
    """``group`` where ``page`` offers it; else none, and the page shows its default."""
    offers = {"reports.area_map": GEOGRAPHIES, "reports.trends": AREA_GROUPINGS}.get(page)
    return group if offers is None or group in offers else None
