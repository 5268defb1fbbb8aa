"""The current time, in UTC and in the local time zone (Europe/London by default).

Everything that asks "what time is it" comes here, so the whole app agrees; the app's
``CLOCK`` setting (a function returning an aware datetime) can replace the clock.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context


def now_utc() -> dt.datetime:
    clock = current_app.config.get("CLOCK") if has_app_context() else None
    return (clock() if clock else dt.datetime.now(dt.UTC)).astimezone(dt.UTC)


def local_zone() -> ZoneInfo:
    name = current_app.config.get("TIMEZONE", "Europe/London") if has_app_context() else None
    return ZoneInfo(name or "Europe/London")


def now_local() -> dt.datetime:
    return now_utc().astimezone(local_zone())


def today_local() -> dt.date:
    return now_local().date()
