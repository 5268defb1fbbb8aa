"""Weekly opening hours: open now, today's hours and the week, in local time.

A session runs from ``opens`` to ``closes`` on its weekday (0 is Monday). When
``closes`` is earlier than ``opens`` the session runs past midnight into the next day
(a night outreach from 20:00 to 02:00). A closing time of 23:59 or 00:00 means "until
midnight", so 00:00 to 23:59 is open all day, and 18:00 to 00:00 is the evening only.

A listing with no sessions at all has no set hours (appointments, outreach): it is never
open now, but its days are not called closed.

A day's hours are its own sessions and the end of the previous day's session that runs
past midnight into it: at 01:30 on a Saturday, Friday's 20:00 to 02:00 is open, and the
text for Saturday says so ("Open now until 02:00 (Friday night's hours)").
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from typing import Protocol

from ..workdays import holiday_name

DAY_NAMES = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
DAY_ABBREVIATIONS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
END_OF_DAY = dt.time(23, 59)
MIDNIGHT = dt.time(0)
NO_SET_HOURS = "No set hours"


class Session(Protocol):
    weekday: int
    opens: dt.time
    closes: dt.time


def _minutes(t: dt.time) -> int:
    return t.hour * 60 + t.minute


def _closing_minutes(t: dt.time) -> int:
    return 24 * 60 if t in (END_OF_DAY, MIDNIGHT) else _minutes(t)


def _runs_past_midnight(s: Session) -> bool:
    return _closing_minutes(s.closes) <= _minutes(s.opens)


def _carried_over(sessions: Iterable[Session], weekday: int) -> list[Session]:
    """The previous day's sessions that run past midnight into ``weekday``."""
    previous = (weekday - 1) % 7
    return sorted(
        (s for s in sessions if s.weekday == previous and _runs_past_midnight(s)),
        key=lambda s: s.closes,
    )


def is_open(sessions: Iterable[Session], at: dt.datetime) -> bool:
    """Whether any session is open at the local time ``at`` (open at the opening
    minute, closed from the closing minute)."""
    day = at.weekday()
    now = at.hour * 60 + at.minute
    for s in sessions:
        opens, closes = _minutes(s.opens), _closing_minutes(s.closes)
        if not _runs_past_midnight(s):
            if s.weekday == day and opens <= now < closes:
                return True
        else:
            if s.weekday == day and now >= opens:
                return True
            if s.weekday == (day - 1) % 7 and now < closes:
                return True
    return False


def _fmt(t: dt.time) -> str:
    return "midnight" if t == END_OF_DAY else t.strftime("%H:%M")


def _fmt_closing(t: dt.time) -> str:
    return "midnight" if t == MIDNIGHT else _fmt(t)


def _night_before(weekday: int) -> str:
    return f"{DAY_NAMES[(weekday - 1) % 7]} night's hours"


def _describe_own(sessions: Sequence[Session], weekday: int) -> str:
    """The sessions that open on ``weekday``, or ``""`` when none do."""
    todays = sorted((s for s in sessions if s.weekday == weekday), key=lambda s: s.opens)
    if len(todays) == 1 and todays[0].opens == dt.time(0) and todays[0].closes == END_OF_DAY:
        return "Open 24 hours"
    parts = []
    for s in todays:
        text = f"{_fmt(s.opens)} to {_fmt_closing(s.closes)}"
        if _runs_past_midnight(s):
            text += f" ({DAY_NAMES[(weekday + 1) % 7]})"
        parts.append(text)
    return " and ".join(parts)


def describe_day(sessions: Sequence[Session], weekday: int) -> str:
    """``"09:00 to 17:00"``, ``"08:30 to 12:30 and 13:30 to 16:30"``, ``"Open 24 hours"``,
    ``"Until 02:00 (Friday night's hours)"`` (the previous day's session running past
    midnight, before any of the day's own), ``"Closed"``, or ``"No set hours"`` for a
    listing with none."""
    if not sessions:
        return NO_SET_HOURS
    own = _describe_own(sessions, weekday)
    if own == "Open 24 hours":
        return own
    parts = [
        f"Until {_fmt(s.closes)} ({_night_before(weekday)})"
        for s in _carried_over(sessions, weekday)
    ]
    if own:
        parts.append(own)
    return " and ".join(parts) or "Closed"


def week(sessions: Sequence[Session]) -> list[tuple[str, str]]:
    """``[("Monday", "09:00 to 17:00"), ...]`` for the whole week."""
    return [(DAY_NAMES[d], describe_day(sessions, d)) for d in range(7)]


def parse_hours(text: str) -> list[tuple[int, dt.time, dt.time]]:
    """Read ``"Mon 09:00-17:00; Fri 20:00-02:00"`` (days may be ranges, ``Mon-Fri``, or
    lists, ``Mon,Wed``; several times per day with commas) into sessions.

    Raises ``ValueError`` with a message naming the part that is not understood.
    """
    sessions: list[tuple[int, dt.time, dt.time]] = []
    for part in (p.strip() for p in (text or "").split(";")):
        if not part:
            continue
        try:
            days_text, times_text = part.split(None, 1)
        except ValueError:
            raise ValueError(
                f"“{part}” needs days and times, like “Mon-Fri 09:00-17:00”"
            ) from None
        days = _parse_days(days_text)
        for span in times_text.split(","):
            try:
                opens_text, closes_text = (x.strip() for x in span.split("-"))
                opens = dt.time.fromisoformat(opens_text.zfill(5))
                closes = dt.time.fromisoformat(closes_text.zfill(5))
            except ValueError:
                raise ValueError(
                    f"“{span.strip()}” is not a time range like 09:00-17:00"
                ) from None
            if opens == closes:
                raise ValueError(f"“{span.strip()}” opens and closes at the same time")
            sessions += [(day, opens, closes) for day in days]
    return sessions


def _parse_days(text: str) -> list[int]:
    lookup = {name.lower(): i for i, name in enumerate(DAY_ABBREVIATIONS)}
    days: list[int] = []
    for piece in text.split(","):
        ends = [e.strip().lower()[:3] for e in piece.split("-")]
        if not all(e in lookup for e in ends) or len(ends) > 2:
            raise ValueError(f"“{piece}” is not a day or range of days, like Mon or Mon-Fri")
        first, last = lookup[ends[0]], lookup[ends[-1]]
        span = range(first, last + 1) if first <= last else [*range(first, 7), *range(last + 1)]
        days += [d for d in span if d not in days]
    return days


def format_hours(sessions: Iterable[Session]) -> str:
    """The inverse of ``parse_hours``: one part per day, e.g. ``Mon 09:00-17:00; ...``."""
    by_day: dict[int, list[str]] = {}
    for s in sorted(sessions, key=lambda s: (s.weekday, s.opens)):
        by_day.setdefault(s.weekday, []).append(
            f"{s.opens.strftime('%H:%M')}-{s.closes.strftime('%H:%M')}"
        )
    return "; ".join(f"{DAY_ABBREVIATIONS[d]} {','.join(t)}" for d, t in sorted(by_day.items()))


def holiday_note(day: dt.date) -> str | None:
    """What today's hours add on a bank holiday in this installation's region: listings
    keep weekly hours only, and many services close or keep other hours that day."""
    name = holiday_name(day)
    return f"{name} (bank holiday): hours may differ, so phone first" if name else None


def open_now_holiday_note(day: dt.date) -> str | None:
    """What the "Open now" filter adds on a bank holiday: it goes by the weekly hours,
    which that day many services do not keep."""
    name = holiday_name(day)
    if not name:
        return None
    return (
        f"Today is {name}, a bank holiday. “Open now” goes by each service's usual weekly "
        "hours, and many services close or keep other hours on a bank holiday: phone first."
    )


def today_text(sessions: Sequence[Session], local: dt.datetime, holiday: str | None = None) -> str:
    """Today's hours at local time ``local``, and whether open now: ``"Today 09:00 to
    17:00 (open now)"``, ``"Open 24 hours today (open now)"``, ``"Open now until 02:00
    (Friday night's hours)"`` (followed by today's own hours, if any), ``"Closed for the
    rest of today"`` (after such a session ended), ``"Closed today"``, or ``"No set
    hours: phone to check"`` for a listing with none. On a bank holiday (``holiday``:
    ``holiday_note`` of the day) any hours are followed by it.

    "Open now" is said exactly when ``is_open`` is true."""
    if not sessions:
        return f"{NO_SET_HOURS}: phone to check"
    text = _today(sessions, local)
    if holiday and not text.startswith("Closed"):
        return f"{text}. {holiday}"
    return text


def _today(sessions: Sequence[Session], local: dt.datetime) -> str:
    day = local.weekday()
    now = _minutes(local.time())
    own = _describe_own(sessions, day)
    if own == "Open 24 hours":
        return "Open 24 hours today (open now)"
    carried = _carried_over(sessions, day)
    running = [s for s in carried if now < _closing_minutes(s.closes)]
    if running:
        text = f"Open now until {_fmt(running[-1].closes)} ({_night_before(day)})"
        return f"{text}, and today {own}" if own else text
    if not own:
        return "Closed for the rest of today" if carried else "Closed today"
    state = "open now" if is_open(sessions, local) else "closed now"
    return f"Today {own} ({state})"
