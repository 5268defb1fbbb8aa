"""Reading the API's query parameters, and the page envelope every list answers in
(``lists.py`` finds the directory's pages; ``cursors.py`` where the next one starts).

A parameter that is present but wrong is an error (400) naming the parameter and what
it should be, never silently ignored: a filter that did nothing would return everything.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from flask import request

DEFAULT_PER_PAGE = 50
MAX_PER_PAGE = 200
MINIMAL_MAX_PER_PAGE = 5000  # services with minimal=true: four fields each
STREAM_BATCH = 200
TRUE, FALSE = {"true", "1", "yes"}, {"false", "0", "no"}


NUL_MESSAGE = (
    "must not contain a NUL character or a lone UTF-16 surrogate (they cannot be stored)."
)


# Systems send dates as ISO 8601 (YYYY-MM-DD); only people type them day first.
ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")


def iso_date(value: str) -> dt.date | None:
    """``value`` as a date when it is written YYYY-MM-DD and is a real day, else None
    (``02/03/2026`` and ``today`` are a person's ways, ambiguous from a system)."""
    if not ISO_DATE.fullmatch(value.strip()):
        return None
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        return None


def has_nul(value: object) -> bool:
    """Whether a JSON value holds, anywhere, text that cannot be stored: a NUL character
    (PostgreSQL refuses it) or a lone surrogate (JSON's "\\ud800", which no UTF-8
    text can hold)."""
    if isinstance(value, str):
        if "\x00" in value:
            return True
        try:
            value.encode("utf-8")
        except UnicodeEncodeError:
            return True
        return False
    if isinstance(value, list):
        return any(has_nul(item) for item in value)
    if isinstance(value, dict):
        return any(has_nul(key) or has_nul(item) for key, item in value.items())
    return False


def json_body() -> object:
    """The request's JSON body, or None when it is not JSON (a body nested too deeply
    to read is refused)."""
    try:
        return request.get_json(silent=True)
    except RecursionError:
        raise ApiError(400, "The JSON body is nested too deeply to read.") from None


class ApiError(Exception):
    """Answered as a JSON problem document with ``status``."""

    def __init__(
        self,
        status: int,
        detail: str,
        errors: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(detail)
        self.status, self.detail, self.errors, self.headers = status, detail, errors, headers


def bad(name: str, message: str) -> ApiError:
    return ApiError(400, f"{name} {message}.", {name: message})


def arg(name: str) -> str:
    """The parameter's text, stripped; a NUL character (which no database text can hold,
    and no real value has) is refused."""
    raw = request.args.get(name, "")
    if "\x00" in raw:
        raise bad(name, "must not contain a NUL character")
    return raw.strip()


def list_arg(name: str) -> list[str]:
    """Every value of a repeatable parameter (``type=ost&type=iep``)."""
    values = request.args.getlist(name)
    if any("\x00" in value for value in values):
        raise bad(name, "must not contain a NUL character")
    return [value.strip() for value in values if value.strip()]


def text_arg(name: str, max_length: int = 200) -> str | None:
    value = " ".join(arg(name).split())
    if len(value) > max_length:
        raise bad(name, f"must be at most {max_length} characters")
    return value or None


def int_arg(name: str, default: int, low: int, high: int) -> int:
    raw = arg(name)
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad(name, "must be a whole number") from None
    if not low <= value <= high:
        raise bad(name, f"must be from {low} to {high}")
    return value


def bool_arg(name: str) -> bool:
    raw = arg(name).lower()
    if not raw or raw in FALSE:
        return False
    if raw in TRUE:
        return True
    raise bad(name, "must be true or false")


def uuid_arg(name: str) -> UUID | None:
    raw = arg(name)
    if not raw:
        return None
    value = parse_uuid(raw)
    if value is None:
        raise bad(name, "must be an id from this API (a UUID)")
    return value


def parse_uuid(raw: str) -> UUID | None:
    try:
        return UUID(raw.strip())
    except (ValueError, AttributeError):
        return None


def datetime_arg(name: str) -> dt.datetime | None:
    """An ISO 8601 date or date and time; without an offset it is taken as UTC."""
    raw = arg(name)
    if not raw:
        return None
    try:
        value = dt.datetime.fromisoformat(raw.replace("Z", "+00:00").replace(" ", "+"))
    except ValueError:
        raise bad(name, "must be a date and time like 2026-11-01T09:00:00Z") from None
    if not 1900 <= value.year <= 2100:
        raise bad(name, "must be a date from 1900 to 2100")
    return value if value.tzinfo else value.replace(tzinfo=dt.UTC)


def choice_arg(name: str, choices: Iterable[str], default: str | None = None) -> str | None:
    allowed = list(choices)
    raw = arg(name)
    if not raw:
        return default
    if raw not in allowed:
        raise bad(name, f"must be one of {', '.join(allowed)}")
    return raw


@dataclass(frozen=True)
class Paging:
    page: int
    per_page: int

    @classmethod
    def from_request(cls, max_per_page: int = MAX_PER_PAGE) -> Paging:
        return cls(
            page=int_arg("page", 1, 1, 10**6),
            per_page=int_arg("per_page", DEFAULT_PER_PAGE, 1, max_per_page),
        )


def page_body(total: int, paging: Paging, contents: list) -> dict:
    """The HSDS page envelope, used by every list in the API."""
    pages = max(1, math.ceil(total / paging.per_page))
    return {
        "total_items": total,
        "total_pages": pages,
        "page_number": paging.page,
        "size": len(contents),
        "first_page": paging.page == 1,
        "last_page": paging.page >= pages,
        "empty": not contents,
        "contents": contents,
    }
