"""Working days, for "no response within 5 working days" (Monday to Friday; public
holidays are not counted out)."""

from __future__ import annotations

import datetime as dt


def add_working_days(start: dt.date, days: int) -> dt.date:
    """The date ``days`` working days after ``start``."""
    current = start
    remaining = days
    while remaining > 0:
        current += dt.timedelta(days=1)
        if current.weekday() < 5:
            remaining -= 1
    return current


def respond_by(referred_on: dt.date, working_days: int) -> dt.date:
    """The last day a provider can respond to a referral made on ``referred_on``."""
    return add_working_days(referred_on, working_days)


def is_overdue(status: str, referred_on: dt.date, today: dt.date, working_days: int) -> bool:
    return status == "made" and today > respond_by(referred_on, working_days)
