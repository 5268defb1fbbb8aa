"""Fixed reporting periods (DESIGN.md section 6 item 6).

Aggregate figures are published only for whole calendar months, quarters, financial years
(April to March) and rolling years (12 months ending with a month), never for a window a
reader chooses by the day, so two windows can never differ by one day's referrals. Codes:

- ``2026-09``: September 2026;
- ``2026Q3``: July to September 2026;
- ``FY2025-26``: April 2025 to March 2026;
- ``12m-2026-11``: December 2025 to November 2026.

A period is offered only once it is complete (its last day is before the as-of date). Months
and rolling years that do not end with a quarter are offered for the nation only: below
the nation, the rolling year ends with a quarter, so that the difference between two rolling
years is never a single month of a small area.

Months are numbered from year 0 (``year * 12 + month - 1``) so that periods are ranges of
whole numbers.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)
KINDS = ("month", "quarter", "financial_year", "rolling_year")
KIND_LABELS = {
    "month": "Month",
    "quarter": "Quarter",
    "financial_year": "Financial year",
    "rolling_year": "12 months",
}

_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})Q([1-4])$")
_FINANCIAL = re.compile(r"^FY(\d{4})-(\d{2})$")
_ROLLING = re.compile(r"^12M-(\d{4})-(\d{2})$")
FIRST_YEAR, LAST_YEAR = 1990, 2100


def month_index(day: dt.date) -> int:
    return day.year * 12 + day.month - 1


def month_start(index: int) -> dt.date:
    return dt.date(index // 12, index % 12 + 1, 1)


def month_end(index: int) -> dt.date:
    return month_start(index + 1) - dt.timedelta(days=1)


def month_name(index: int) -> str:
    return f"{MONTH_NAMES[index % 12]} {index // 12}"


@dataclass(frozen=True, order=True)
class Period:
    """A run of whole months, ``first`` to ``last`` inclusive."""

    first: int
    last: int
    kind: str

    @property
    def start(self) -> dt.date:
        return month_start(self.first)

    @property
    def end(self) -> dt.date:
        return month_end(self.last)

    @property
    def months(self) -> range:
        return range(self.first, self.last + 1)

    @property
    def code(self) -> str:
        year, month = divmod(self.last, 12)
        if self.kind == "month":
            return f"{year}-{month + 1:02d}"
        if self.kind == "quarter":
            return f"{year}Q{month // 3 + 1}"
        if self.kind == "financial_year":
            return f"FY{year - 1}-{year % 100:02d}"
        return f"12m-{year}-{month + 1:02d}"

    @property
    def label(self) -> str:
        if self.kind == "month":
            return month_name(self.first)
        if self.kind == "quarter":
            return f"{MONTH_NAMES[self.first % 12]} to {month_name(self.last)}"
        if self.kind == "financial_year":
            return f"Financial year {self.first // 12}-{(self.last // 12) % 100:02d}"
        return f"12 months to {month_name(self.last)}"

    @property
    def span(self) -> str:
        """The dates it covers, in words."""
        return f"{_day(self.start)} to {_day(self.end)}"

    @property
    def ends_a_quarter(self) -> bool:
        return self.last % 3 == 2

    def complete(self, as_of: dt.date) -> bool:
        return self.end < as_of

    def followed_up(self, as_of: dt.date, days: int) -> bool:
        """Every referral in the period was made at least ``days`` days before ``as_of``."""
        return self.end <= as_of - dt.timedelta(days=days)

    def quarters(self) -> list[Period]:
        """The quarters that make up the period (none for a month or a rolling year that
        does not end with a quarter)."""
        if self.first % 3 or not self.ends_a_quarter:
            return []
        return [quarter_of(m) for m in range(self.first, self.last + 1, 3)]


def _day(day: dt.date) -> str:
    return f"{day.day} {MONTH_NAMES[day.month - 1]} {day.year}"


def month(index: int) -> Period:
    return Period(index, index, "month")


def quarter_of(index: int) -> Period:
    first = index - index % 3
    return Period(first, first + 2, "quarter")


def financial_year_of(index: int) -> Period:
    """The financial year (April to March) holding month ``index``."""
    first = index - (index % 12 - 3) % 12
    return Period(first, first + 11, "financial_year")


def rolling_year(last: int) -> Period:
    return Period(last - 11, last, "rolling_year")


def parse(code: str) -> Period | None:
    """The period a code names, or None when the code is not one."""
    text = (code or "").strip().upper()
    if match := _MONTH.match(text):
        year, number = int(match[1]), int(match[2])
        if 1 <= number <= 12 and FIRST_YEAR <= year <= LAST_YEAR:
            return month(year * 12 + number - 1)
    elif match := _QUARTER.match(text):
        year, number = int(match[1]), int(match[2])
        if FIRST_YEAR <= year <= LAST_YEAR:
            return quarter_of(year * 12 + 3 * number - 3)
    elif match := _FINANCIAL.match(text):
        year, short = int(match[1]), int(match[2])
        if FIRST_YEAR <= year <= LAST_YEAR and (year + 1) % 100 == short:
            return financial_year_of(year * 12 + 3)
    elif match := _ROLLING.match(text):
        year, number = int(match[1]), int(match[2])
        if 1 <= number <= 12 and FIRST_YEAR <= year <= LAST_YEAR:
            return rolling_year(year * 12 + number - 1)
    return None


def last_complete_month(as_of: dt.date) -> int:
    return month_index(as_of) - 1


def last_complete_quarter(as_of: dt.date) -> Period:
    index = last_complete_month(as_of)
    return quarter_of(index - (index % 3 - 2) % 3)


@dataclass(frozen=True)
class Offer:
    """Which periods are published, for a data range and an as-of date."""

    first_month: int  # the first month with referrals
    as_of: dt.date

    @property
    def last_month(self) -> int:
        return last_complete_month(self.as_of)

    def months(self) -> list[Period]:
        return [month(i) for i in range(self.first_month, self.last_month + 1)]

    def quarters(self) -> list[Period]:
        """Complete quarters from the first one the data covers whole."""
        first = quarter_of(self.first_month + 2).first
        last = last_complete_quarter(self.as_of).first
        return [quarter_of(i) for i in range(first, last + 1, 3)]

    def financial_years(self) -> list[Period]:
        """Complete financial years from the first one the data covers whole."""
        years, index = [], financial_year_of(self.first_month + 11).first
        while index + 11 <= self.last_month:
            years.append(financial_year_of(index))
            index += 12
        return years

    def rolling_years(self, *, national: bool) -> list[Period]:
        """The nation: one ending with every complete month; below it, only the one ending
        with the last complete quarter (earlier ones end with a financial year or are not
        published, so that no two differ by one quarter of a small area)."""
        if national:
            return [rolling_year(i) for i in range(self.first_month, self.last_month + 1)]
        return [rolling_year(last_complete_quarter(self.as_of).last)]

    def valid(self, period: Period, *, national: bool) -> bool:
        if not period.complete(self.as_of) or period.last < self.first_month:
            return False
        if period.kind == "month":
            return national
        if period.kind == "rolling_year":
            return period in self.rolling_years(national=national)
        return True

    def describe(self, *, national: bool) -> str:
        """Words for an error message: which periods exist."""
        latest = (
            rolling_year(self.last_month) if national else self.rolling_years(national=False)[0]
        )
        quarter = last_complete_quarter(self.as_of)
        years = self.financial_years()
        parts = [f"a quarter like {quarter.code}"]
        if years:
            parts.append(f"a financial year like {years[-1].code}")
        if national:
            parts.insert(0, f"a month like {month(self.last_month).code}")
        parts.append(f"the 12 months {latest.code}")
        return "Choose " + ", ".join(parts[:-1]) + " or " + parts[-1] + "."
