"""Working days, for "respond within 5 working days" and for overdue referrals.

A working day is Monday to Friday and not a bank holiday in the region set by
``BANK_HOLIDAY_REGION`` (``SCT``, ``ENG``, ``WLS`` or ``NIR``) or, when that is unset, by
the data pack's ``bank_holiday_region`` (``referrals/nation.py``). The holidays come from
the maintained ``holidays`` package, so
substitute days ("Boxing Day (observed)") and one-off holidays are included.

A referral made on day D must be answered by the end of the 5th working day after D;
from the day after that it is overdue.
"""

from __future__ import annotations

import datetime as dt
from functools import lru_cache

import holidays
from flask import current_app, has_app_context

from . import nation
from .config import BANK_HOLIDAY_REGIONS

DEFAULT_REGION = "SCT"


def region() -> str:
    """The bank-holiday region of this installation."""
    if has_app_context():
        return (
            current_app.config.get("BANK_HOLIDAY_REGION")
            or nation.current().bank_holiday_region
            or DEFAULT_REGION
        )
    return DEFAULT_REGION


@lru_cache(maxsize=8)
def _calendar(region_code: str) -> holidays.HolidayBase:
    # Years are added as dates are asked about; one calendar per region per process.
    return holidays.country_holidays("GB", subdiv=region_code)


def holiday_name(day: dt.date, region_code: str | None = None) -> str | None:
    """The name of the bank holiday ``day`` is in the region, or None. The region (which
    may need the nation's settings read) is looked for only on a day that is a bank
    holiday somewhere in the UK."""
    if region_code is None and not any(day in _calendar(code) for code in BANK_HOLIDAY_REGIONS):
        return None
    return _calendar(region_code or region()).get(day)


def is_working_day(day: dt.date, region_code: str | None = None) -> bool:
    return day.weekday() < 5 and day not in _calendar(region_code or region())


def add_working_days(start: dt.date, days: int, region_code: str | None = None) -> dt.date:
    """The date ``days`` working days after ``start``."""
    code = region_code or region()
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if is_working_day(current, code):
            remaining -= 1
    return current


def respond_by(referred_on: dt.date, working_days: int, region_code: str | None = None) -> dt.date:
    """The last day a provider can respond to a referral made on ``referred_on``."""
    return add_working_days(referred_on, working_days, region_code)


def is_overdue(
    status: str, referred_on: dt.date, today: dt.date, working_days: int, region_code=None
) -> bool:
    return status == "made" and today > respond_by(referred_on, working_days, region_code)


def overdue_cutoff(today: dt.date, working_days: int, region_code: str | None = None) -> dt.date:
    """Referrals made before this date and still unanswered are overdue ``today``."""
    return _overdue_cutoff(today, working_days, region_code or region())


@lru_cache(maxsize=64)
def _overdue_cutoff(today: dt.date, working_days: int, region_code: str) -> dt.date:
    # A pure function of its arguments (the calendar is the holidays package's), so
    # every process works out the same date; the lists ask for it on every page.
    day = today
    while respond_by(day, working_days, region_code) >= today:
        day -= dt.timedelta(days=1)
    return day + dt.timedelta(days=1)
