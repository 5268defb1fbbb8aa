"""Pieces of pages written once per process and kept: a blank form's fields, a list's
options. Each is keyed by everything besides code it is written from (the day, the
choices read for the page), so a kept piece is always one that would be written afresh;
only a bounded number are kept, so a day's or a list's change never grows the process.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

Value = TypeVar("Value")


class Kept(Generic[Value]):
    """At most ``most`` written pieces by key; when full, it starts again (more than a
    day's keys, so in practice only when the day turns)."""

    def __init__(self, most: int):
        self.most = most
        self._found: dict[Hashable, Value] = {}

    def get(self, key: Hashable, write: Callable[[], Value]) -> Value:
        """The piece kept for ``key``, or ``write()`` kept for the next page."""
        try:
            return self._found[key]
        except KeyError:
            pass
        if len(self._found) >= self.most:
            self._found.clear()
        value = self._found[key] = write()
        return value

    def clear(self) -> None:
        self._found.clear()

    def values(self) -> list[Value]:
        return list(self._found.values())

    def __len__(self) -> int:
        return len(self._found)
