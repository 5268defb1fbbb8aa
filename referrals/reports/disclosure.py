"""Disclosure control (DESIGN.md section 6 item 6), in one place.

Primary suppression: a count from 1 to threshold - 1 is hidden (shown as "<5"); a rate is
hidden, with its interval and comparison, when its numerator, its denominator or the
denominator minus the numerator is from 1 to threshold - 1. Zero is shown as 0.

Secondary suppression: wherever published figures add up (areas to Scotland; councils to
their ADP, police division and health board; services to their provider), a hidden
figure must not be recoverable by subtraction. For every such relation, when the total is
shown, the hidden parts must be at least two and together hold at least ``threshold``
(for a rate: at least ``threshold`` people with and ``threshold`` without the outcome);
when the total is hidden, at least one part must be hidden too. Further parts (the
smallest first) or the total are hidden until every relation holds.

The functions here take plain numbers and return which figures to hide; they know
nothing about SQL, Flask or how figures are drawn.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable
from dataclasses import dataclass, field

Key = Hashable


@dataclass(frozen=True)
class Relation:
    """``parent`` is the sum of ``children`` (for every count and rate part)."""

    parent: Key
    children: tuple[Key, ...]


@dataclass
class Cells:
    """The figures of one table (or a family of nested tables) before suppression."""

    counts: dict[Key, dict[str, int]]  # key -> count name -> value
    rates: dict[Key, dict[str, tuple[int, int]]]  # key -> rate name -> (numerator, n)


@dataclass
class Hidden:
    counts: set[tuple[Key, str]] = field(default_factory=set)
    rates: set[tuple[Key, str]] = field(default_factory=set)

    def count(self, key: Key, name: str) -> bool:
        return (key, name) in self.counts

    def rate(self, key: Key, name: str) -> bool:
        return (key, name) in self.rates


def small(value: int, threshold: int) -> bool:
    """From 1 to threshold - 1: too small to show (0 is shown)."""
    return 0 < value < threshold


def rate_is_small(numerator: int, n: int, threshold: int) -> bool:
    return small(numerator, threshold) or small(n, threshold) or small(n - numerator, threshold)


def protect(
    cells: Cells, relations: Iterable[Relation], threshold: int, initial: Hidden | None = None
) -> Hidden:
    """Which figures must be hidden: primary, then secondary until nothing is recoverable.

    ``initial`` holds figures already hidden elsewhere (e.g. in another table they
    appear in), which stay hidden.
    """
    relations = list(relations)
    hidden = Hidden(set(initial.counts), set(initial.rates)) if initial else Hidden()
    for key, values in cells.counts.items():
        for name, value in values.items():
            if small(value, threshold):
                hidden.counts.add((key, name))
    for key, values in cells.rates.items():
        for name, (numerator, n) in values.items():
            if rate_is_small(numerator, n, threshold):
                hidden.rates.add((key, name))

    count_names = {name for values in cells.counts.values() for name in values}
    rate_names = {name for values in cells.rates.values() for name in values}
    changed = True
    while changed:
        changed = False
        for relation in relations:
            for name in count_names:
                changed |= _protect_count(cells, hidden, relation, name, threshold)
            for name in rate_names:
                changed |= _protect_rate(cells, hidden, relation, name, threshold)
    return hidden


def _protect_count(cells, hidden, relation, name, threshold) -> bool:
    def value(key):
        return cells.counts.get(key, {}).get(name, 0)

    parent_hidden = hidden.count(relation.parent, name)
    parts = [c for c in relation.children if c in cells.counts]
    shut = [c for c in parts if hidden.count(c, name)]
    visible = [c for c in parts if not hidden.count(c, name) and value(c) > 0]
    if parent_hidden:
        if shut or value(relation.parent) == 0 or not visible:
            return False
    elif not shut or (len(shut) >= 2 and sum(value(c) for c in shut) >= threshold):
        return False
    if visible:
        hidden.counts.add((min(visible, key=lambda c: (value(c), str(c))), name))
    else:
        hidden.counts.add((relation.parent, name))
    return True


def _protect_rate(cells, hidden, relation, name, threshold) -> bool:
    def parts_of(key):
        return cells.rates.get(key, {}).get(name, (0, 0))

    parent_hidden = hidden.rate(relation.parent, name)
    parts = [c for c in relation.children if c in cells.rates]
    shut = [c for c in parts if hidden.rate(c, name)]
    visible = [c for c in parts if not hidden.rate(c, name) and parts_of(c)[1] > 0]
    if parent_hidden:
        if shut or parts_of(relation.parent)[1] == 0 or not visible:
            return False
    else:
        with_outcome = sum(parts_of(c)[0] for c in shut)
        without = sum(parts_of(c)[1] - parts_of(c)[0] for c in shut)
        if not shut or (len(shut) >= 2 and with_outcome >= threshold and without >= threshold):
            return False
    if visible:
        hidden.rates.add((min(visible, key=lambda c: (parts_of(c)[1], str(c))), name))
    else:
        hidden.rates.add((relation.parent, name))
    return True


def shown_count(value: int, is_hidden: bool, threshold: int) -> str:
    """How a count reads once protected: the number, or "<5"."""
    if is_hidden:
        return f"<{threshold}" if small(value, threshold) else "hidden"
    return f"{value:,}"
