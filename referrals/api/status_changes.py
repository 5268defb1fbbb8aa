"""A status change sent to the referral API, checked for shape before the lifecycle
(``tracking/lifecycle.py``) decides whether it is allowed."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from ..dates import EARLIEST_YEAR, LATEST_YEAR
from ..tracking.lifecycle import ACTIONS
from .params import NUL_MESSAGE, ApiError, has_nul, iso_date

FIELDS = ("action", "version", "date", "reason", "declined_by", "note")
MAX_NOTE = 2000
DATE_MESSAGE = "Enter a date like 2026-11-22."


@dataclass(frozen=True)
class StatusChange:
    action: str
    version: int
    on: dt.date
    reason: str | None = None
    declined_by: str | None = None
    note: str | None = None


def read_status_change(body: Any, today: dt.date) -> StatusChange:
    if not isinstance(body, dict):
        raise ApiError(400, "Send the change as a JSON object (Content-Type: application/json).")
    errors: dict[str, str] = {}
    for name in sorted(set(body) - set(FIELDS)):
        errors[name] = f"is not a field of a change (the fields are: {', '.join(FIELDS)})."
    action = body.get("action")
    if not isinstance(action, str) or action not in ACTIONS:
        errors["action"] = f"must be one of {', '.join(ACTIONS)}."
    version = body.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        errors["version"] = (
            "must be the referral's version as you last read it (a whole number), so a "
            "change made by someone else in the meantime is not overwritten."
        )
    on = today
    raw_date = body.get("date")
    if raw_date is not None:
        on = _date(raw_date, errors)
    texts = {}
    for name in ("reason", "declined_by", "note"):
        value = body.get(name)
        if value is not None and not isinstance(value, str):
            errors[name] = "must be text."
        elif has_nul(value):
            errors[name] = NUL_MESSAGE
        texts[name] = (value or "").strip() or None if isinstance(value, str) else None
    if texts["note"] and len(texts["note"]) > MAX_NOTE:
        errors["note"] = f"must be at most {MAX_NOTE:,} characters."
    if errors:
        raise ApiError(
            422,
            "The change was not recorded: " + " ".join(f"{k} {v}" for k, v in errors.items()),
            errors,
        )
    return StatusChange(action=action, version=version, on=on, **texts)


def _date(value: Any, errors: dict[str, str]) -> dt.date:
    parsed = iso_date(value) if isinstance(value, str) and not has_nul(value) else None
    if parsed is None:
        errors["date"] = DATE_MESSAGE
        return dt.date.min
    if not EARLIEST_YEAR <= parsed.year <= LATEST_YEAR:
        errors["date"] = f"Enter a year from {EARLIEST_YEAR} to {LATEST_YEAR}."
    return parsed
