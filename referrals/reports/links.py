"""Links that differ in one value only (every area's profile, every measure's table): the
URL is built once, with a marker where the value goes, and each value written in its place
(values URL-encoding would change are built one by one, as ``url_for`` builds them)."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from flask import request, url_for

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


def profile_urls(grouping: str, codes: Iterable[str], period: str) -> dict[str, str]:
    """Each area's profile for the period."""

    def build(code: str) -> str:
        return url_for("reports.area_profile", grouping=grouping, code=code, period=period)

    return each_url(build, codes)
