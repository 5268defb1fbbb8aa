"""Wilson intervals against published values, and the comparison rule at its limits."""

import math
import random

import pytest

from referrals.statistics import Z95, Z998, Comparison, compare, funnel_limits, wilson


@pytest.mark.parametrize(
    ("x", "n", "low", "high"),
    [
        # Newcombe (1998), Statistics in Medicine 17:857, table I, method 3 (Wilson).
        (81, 263, 0.2553, 0.3662),
        (15, 148, 0.0624, 0.1605),
        (0, 20, 0.0, 0.1611),
        (1, 29, 0.0061, 0.1718),
        # Worked by hand from the formula.
        (5, 10, 0.2366, 0.7634),
        (10, 10, 0.7225, 1.0),
    ],
)
def test_wilson_95_matches_published_values(x, n, low, high):
    interval = wilson(x, n)
    assert interval.low == pytest.approx(low, abs=5e-5)
    assert interval.high == pytest.approx(high, abs=5e-5)


def test_wilson_998_is_wider_and_zero_denominator_has_no_interval():
    assert wilson(5, 10, Z998).low < wilson(5, 10, Z95).low
    assert wilson(0, 0) is None
    with pytest.raises(ValueError):
        wilson(11, 10)


@pytest.mark.parametrize(
    ("x", "expected"),
    [
        (34, Comparison.LOWER_998),  # below 0.5 - 3.090232 * 0.05 = 0.3455
        (35, Comparison.LOWER_95),
        (40, Comparison.LOWER_95),  # below 0.5 - 1.959964 * 0.05 = 0.4020
        (41, Comparison.SIMILAR),
        (50, Comparison.SIMILAR),
        (59, Comparison.SIMILAR),
        (60, Comparison.HIGHER_95),  # above 0.5980
        (65, Comparison.HIGHER_95),
        (66, Comparison.HIGHER_998),  # above 0.6545
    ],
)
def test_comparison_at_the_limits(x, expected):
    assert compare(x, 100, 0.5) == expected


def test_not_compared_without_data():
    assert compare(0, 0, 0.5) == Comparison.NOT_COMPARED
    assert compare(3, 10, None) == Comparison.NOT_COMPARED


def test_rule_is_the_wilson_interval_excluding_the_national_rate():
    """DESIGN.md: outside the funnel limits around p0 <=> the area's Wilson interval
    excludes p0, at both levels."""
    rng = random.Random(1)
    for _ in range(3000):
        n = rng.randint(1, 400)
        x = rng.randint(0, n)
        p0 = rng.uniform(0.05, 0.95)
        for z, higher, lower in (
            (Z95, Comparison.HIGHER_95, Comparison.LOWER_95),
            (Z998, Comparison.HIGHER_998, Comparison.LOWER_998),
        ):
            limits = funnel_limits(p0, n, z)
            interval = wilson(x, n, z)
            if math.isclose(x / n, limits.high) or math.isclose(x / n, limits.low):
                continue
            outside = x / n > limits.high or x / n < limits.low
            excludes = interval.low > p0 or interval.high < p0
            assert outside == excludes, (x, n, p0, z)
            state = compare(x, n, p0)
            if z == Z998 and outside:
                assert state in (higher, lower)


@pytest.mark.parametrize(
    ("before", "after", "z", "direction"),
    [
        # Worked by hand: p = 115/200 = 0.575, sqrt(0.575 * 0.425 * (1/100 + 1/100)) = 0.069911.
        ((50, 100), (65, 100), 2.1456, 1),
        # p = 0.55, sqrt(0.55 * 0.45 * 0.02) = 0.070356: 0.10 / 0.070356 = 1.4213.
        ((50, 100), (60, 100), 1.4213, 0),
        ((65, 100), (50, 100), -2.1456, -1),
        # Unequal denominators: p = 0.325, sqrt(0.219375 * 0.0053333) = 0.034205; -0.12 / it.
        ((120, 300), (140, 500), -3.5082, -1),
    ],
)
def test_a_change_between_periods_is_significant_beyond_the_95_percent_z(
    before, after, z, direction
):
    from referrals.statistics import changed, two_proportion_z

    assert two_proportion_z(*before, *after) == pytest.approx(z, abs=5e-4)
    assert changed(*before, *after) == direction


def test_no_change_is_tested_without_spread_or_denominator():
    from referrals.statistics import changed, two_proportion_z

    assert two_proportion_z(0, 0, 5, 10) is None
    assert two_proportion_z(10, 10, 20, 20) is None  # both 100%: no spread
    assert changed(10, 10, 20, 20) == 0
