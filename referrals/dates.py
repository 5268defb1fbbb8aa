"""Dates as people type them, the GOV.UK way: one box, day first.

A date is accepted as ``1/12/2026`` (also with ``-`` or ``.`` between the numbers),
``1 Dec 2026``, ``1 December 2026`` (``1st`` and a comma are fine), ``2026-12-01``
(what links and the worklist's buttons send), or the words ``today`` and ``yesterday``.
Numbers are always day, month, year, as in the UK. The year has four figures and lies
from 1900 to 2100. Anything else is refused with a message that says what to type,
and an impossible date says why it is impossible ("February 2026 has 28 days").
"""

from __future__ import annotations

import calendar
import datetime as dt
import re

EARLIEST_YEAR, LATEST_YEAR = 1900, 2100
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS.update({name.lower(): n for n, name in enumerate(calendar.month_abbr) if name})
MONTHS["sept"] = 9

_SEPARATOR = r"(?:\s*[/.\-]\s*|\s+)"
_NUMBERS = re.compile(rf"(\d{{1,2}}){_SEPARATOR}(\d{{1,2}}){_SEPARATOR}(\d+)")
_ISO = re.compile(r"(\d{4})\s*[/.\-]\s*(\d{1,2})\s*[/.\-]\s*(\d{1,2})")
_WORDS = re.compile(r"(\d{1,2})(?:st|nd|rd|th)?\s*([a-z]+)\.?,?\s*(\d+)")
FORMAT_MESSAGE = "Enter a date like 27/11/2026 or 27 Nov 2026."


class DateProblem(ValueError):
    """The text is not a date; the message says what to type instead."""


def parse_date(text: str, today: dt.date | None = None) -> dt.date:
    """The date in ``text``, read day first; ``today`` is needed for the words."""
    cleaned = " ".join(text.strip().lower().split())
    if cleaned in ("today", "yesterday"):
        if today is None:
            raise DateProblem(FORMAT_MESSAGE)
        return today if cleaned == "today" else today - dt.timedelta(days=1)
    if match := _ISO.fullmatch(cleaned):
        year, month, day = (int(part) for part in match.groups())
        return _real_date(day, month, match.group(1), year)
    if match := _NUMBERS.fullmatch(cleaned):
        day, month = int(match.group(1)), int(match.group(2))
        if month > 12 >= day > 0:
            raise DateProblem(
                f"The month must be from 1 to 12. Dates go day first: {month}/{day}/"
                f"{match.group(3)} for {month} {calendar.month_name[day]}."
            )
        return _real_date(day, month, match.group(3))
    if match := _WORDS.fullmatch(cleaned):
        month = MONTHS.get(match.group(2))
        if month is None:
            raise DateProblem(
                f"“{match.group(2)}” is not a month. Enter a date like 27 Nov 2026 or 27/11/2026."
            )
        return _real_date(int(match.group(1)), month, match.group(3))
    raise DateProblem(FORMAT_MESSAGE)


def _real_date(day: int, month: int, year_text: str, year: int | None = None) -> dt.date:
    if len(year_text) != 4:
        raise DateProblem("Enter the year in full, with 4 numbers, like 2026.")
    year = int(year_text) if year is None else year
    if not EARLIEST_YEAR <= year <= LATEST_YEAR:
        raise DateProblem(f"Enter a year from {EARLIEST_YEAR} to {LATEST_YEAR}.")
    if not 1 <= month <= 12:
        raise DateProblem("The month must be from 1 to 12.")
    days = calendar.monthrange(year, month)[1]
    if day < 1:
        raise DateProblem(f"The day must be from 1 to {days}.")
    if day > days:
        name = calendar.month_name[month]
        raise DateProblem(
            f"{name} {year} has {days} days, so {day} {name} {year} is not a real date."
        )
    return dt.date(year, month, day)


def short_date(day: dt.date) -> str:
    """``27/11/2026``: how the date boxes show a date."""
    return f"{day.day}/{day.month}/{day.year}"


def example_hint(today: dt.date) -> str:
    """A worked example near ``today``: "For example, 27/11/2026 for last Friday"."""
    back = (today.weekday() - calendar.FRIDAY) % 7 or 7
    return f"For example, {short_date(today - dt.timedelta(days=back))} for last Friday."
