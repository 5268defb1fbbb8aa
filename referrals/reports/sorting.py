"""The area table's column sorting: which order a column's first click gives (a measure's
best first) and how the header says which order the table is in."""

from __future__ import annotations

from dataclasses import dataclass

from .measures import MEASURES


@dataclass
class SortLink:
    next: str  # the order the column's link asks for
    current: str | None  # the order, in words, when the table is sorted by this column
    first: str  # the order a first click gives, in words


def first_direction(key: str) -> str:
    """The order a first click on a column gives: names A to Z, a measure's best first
    (highest, or lowest for waits), referrals and comparisons highest first."""
    if key == "name":
        return "asc"
    if key in MEASURES and not MEASURES[key].higher_is_better:
        return "asc"
    return "desc"


def sort_links(sort: str, keys) -> dict[str, SortLink]:
    """For each sortable column of ``keys``: the order its link asks for, and in words."""
    current, _, direction = (sort or "name").partition(":")
    direction = direction or "asc"
    words = {"asc": "lowest first", "desc": "highest first"}
    links = {}
    for key in keys:
        named = {"asc": "A to Z", "desc": "Z to A"} if key == "name" else words
        first = first_direction(key)
        if key == current:
            other = "asc" if direction == "desc" else "desc"
            links[key] = SortLink(f"{key}:{other}", named[direction], named[first])
        else:
            links[key] = SortLink(f"{key}:{first}", None, named[first])
    return links
