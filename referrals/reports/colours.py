"""Colours for comparison states and value scales: colour-blind safe (a purple-orange
diverging scheme), always paired with a symbol and words so colour is never the only
carrier of meaning."""

from __future__ import annotations

from dataclasses import dataclass

from .. import nation
from ..statistics import COMPARISON_LABELS, Comparison


@dataclass(frozen=True)
class State:
    key: str
    wording: str  # may name the nation as ``{national}``
    colour: str
    symbol: str
    shape: str  # for charts: "up", "down", "circle", "none"
    filled: bool

    @property
    def label(self) -> str:
        return self.wording.format(national=nation.current().name)


STATES = {
    Comparison.HIGHER_998: State(
        "higher_998", COMPARISON_LABELS[Comparison.HIGHER_998], "#542788", "▲▲", "up", True
    ),
    Comparison.HIGHER_95: State(
        "higher_95", COMPARISON_LABELS[Comparison.HIGHER_95], "#998EC3", "▲", "up", False
    ),
    Comparison.SIMILAR: State(
        "similar", COMPARISON_LABELS[Comparison.SIMILAR], "#F7F7F7", "●", "circle", False
    ),
    Comparison.LOWER_95: State(
        "lower_95", COMPARISON_LABELS[Comparison.LOWER_95], "#F1A340", "▼", "down", False
    ),
    Comparison.LOWER_998: State(
        "lower_998", COMPARISON_LABELS[Comparison.LOWER_998], "#B35806", "▼▼", "down", True
    ),
    Comparison.NOT_COMPARED: State(
        "not_compared", COMPARISON_LABELS[Comparison.NOT_COMPARED], "#BDBDBD", "-", "none", False
    ),
}
# A lighter grey than "not compared", and hatched wherever it is drawn, so the two greys
# differ by pattern as well as colour.
SUPPRESSED = State(
    "suppressed",
    "Not shown: small numbers, or hidden so that another figure cannot be worked out",
    "#E3E3E3",
    "-",
    "none",
    False,
)
# Five steps of a single-hue scale, light to dark, for "sequential" maps.
SEQUENTIAL = ["#EFF3FF", "#BDD7E7", "#6BAED6", "#3182BD", "#08519C"]
RAG_LABELS = {
    "green": "Green: target met",
    "amber": "Amber: close to target",
    "red": "Red: target missed",
    "not shown": "Not shown",
}
RAG_SYMBOLS = {"green": "✔", "amber": "◐", "red": "✖", "not shown": "-"}


def state_for(comparison: Comparison) -> State:
    return STATES[comparison]


def sequential_bins(values: list[float], bins: int = 5) -> list[float]:
    """Upper edges of ``bins`` equal-count classes of ``values`` (for a sequential map)."""
    ordered = sorted(values)
    if not ordered:
        return []
    edges = []
    for i in range(1, bins + 1):
        index = min(len(ordered) - 1, max(0, round(i * len(ordered) / bins) - 1))
        edges.append(ordered[index])
    return edges


def sequential_colour(value: float, edges: list[float]) -> str:
    for colour, edge in zip(SEQUENTIAL, edges, strict=False):
        if value <= edge:
            return colour
    return SEQUENTIAL[-1]
