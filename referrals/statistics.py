"""Wilson score intervals and the one rule that compares an area with the nation.

DESIGN.md section 6 item 5: an area's rate x/n is "significantly higher" or "lower" at
99.8% when it lies outside p0 +/- 3.090232 * sqrt(p0 (1 - p0) / n) around the national
pooled rate p0, at 95% when outside the 1.959964 limits only, otherwise "similar".
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

Z95 = 1.959964
Z998 = 3.090232


@dataclass(frozen=True)
class Interval:
    low: float
    high: float


def wilson(x: int, n: int, z: float = Z95) -> Interval | None:
    """The Wilson score interval for ``x`` successes in ``n``; ``None`` when ``n`` is 0.

    ``(2x + z^2 -/+ z sqrt(z^2 + 4x(1 - x/n))) / (2(n + z^2))``
    """
    if n <= 0:
        return None
    if not 0 <= x <= n:
        raise ValueError(f"successes {x} must be between 0 and {n}")
    spread = z * math.sqrt(z * z + 4 * x * (1 - x / n))
    denominator = 2 * (n + z * z)
    low = (2 * x + z * z - spread) / denominator
    high = (2 * x + z * z + spread) / denominator
    return Interval(max(0.0, low), min(1.0, high))


def funnel_limits(p0: float, n: int, z: float) -> Interval | None:
    """Spiegelhalter's control limits around ``p0`` for a denominator ``n``."""
    if n <= 0:
        return None
    half = z * math.sqrt(p0 * (1 - p0) / n)
    return Interval(p0 - half, p0 + half)


class Comparison(StrEnum):
    HIGHER_998 = "higher_998"
    HIGHER_95 = "higher_95"
    SIMILAR = "similar"
    LOWER_95 = "lower_95"
    LOWER_998 = "lower_998"
    NOT_COMPARED = "not_compared"


# ``{national}`` is the national comparator's name (``referrals.nation``).
COMPARISON_LABELS = {
    Comparison.HIGHER_998: "Higher than {national} (99.8%)",
    Comparison.HIGHER_95: "Higher than {national} (95%)",
    Comparison.SIMILAR: "Similar to {national}",
    Comparison.LOWER_95: "Lower than {national} (95%)",
    Comparison.LOWER_998: "Lower than {national} (99.8%)",
    Comparison.NOT_COMPARED: "Not compared",
}


def compare(x: int, n: int, p0: float | None) -> Comparison:
    """Where the rate ``x/n`` sits against the national rate ``p0``."""
    if n <= 0 or p0 is None:
        return Comparison.NOT_COMPARED
    rate = x / n
    outer = funnel_limits(p0, n, Z998)
    inner = funnel_limits(p0, n, Z95)
    if rate > outer.high:
        return Comparison.HIGHER_998
    if rate < outer.low:
        return Comparison.LOWER_998
    if rate > inner.high:
        return Comparison.HIGHER_95
    if rate < inner.low:
        return Comparison.LOWER_95
    return Comparison.SIMILAR
