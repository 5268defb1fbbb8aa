"""Opening hours: open now at the edges, overnight sessions, days with no hours."""

import datetime as dt
from dataclasses import dataclass

import pytest

from referrals.directory.hours import (
    describe_day,
    format_hours,
    is_open,
    parse_hours,
    today_text,
    week,
)


@dataclass
class S:
    weekday: int
    opens: dt.time
    closes: dt.time


def sessions(text):
    return [S(d, o, c) for d, o, c in parse_hours(text)]


def at(day: int, hhmm: str) -> dt.datetime:
    # 2026-11-23 is a Monday (weekday 0).
    h, m = map(int, hhmm.split(":"))
    return dt.datetime(2026, 11, 23 + day, h, m)


OFFICE = sessions("Mon-Fri 09:00-17:00")
NIGHT = sessions("Fri,Sat 20:00-02:00")


@pytest.mark.parametrize(
    ("day", "time", "expected"),
    [
        (0, "08:59", False),  # a minute before opening
        (0, "09:00", True),  # the opening minute
        (0, "16:59", True),  # the last open minute
        (0, "17:00", False),  # the closing minute is closed
        (4, "12:00", True),
        (5, "12:00", False),  # Saturday: no hours
        (6, "12:00", False),  # Sunday: no hours
    ],
)
def test_office_hours_at_the_edges(day, time, expected):
    assert is_open(OFFICE, at(day, time)) is expected


@pytest.mark.parametrize(
    ("day", "time", "expected"),
    [
        (4, "19:59", False),
        (4, "20:00", True),
        (4, "23:59", True),
        (5, "00:00", True),  # Friday's session runs into Saturday
        (5, "01:59", True),
        (5, "02:00", False),
        (5, "20:30", True),
        (6, "01:00", True),  # Saturday's session runs into Sunday
        (6, "02:00", False),
        (0, "01:00", False),  # no Sunday session, so nothing runs into Monday
        (3, "23:00", False),
    ],
)
def test_overnight_sessions(day, time, expected):
    assert is_open(NIGHT, at(day, time)) is expected


def test_open_all_day_until_midnight():
    always = sessions("Mon-Sun 00:00-23:59")
    assert is_open(always, at(2, "00:00")) and is_open(always, at(2, "23:59"))
    assert describe_day(always, 2) == "Open 24 hours"


def test_describe_days_and_week():
    split = sessions("Mon 13:30-16:30,08:30-12:30")
    assert describe_day(split, 0) == "08:30 to 12:30 and 13:30 to 16:30"
    assert describe_day(NIGHT, 4) == "20:00 to 02:00 (Saturday)"
    assert describe_day(OFFICE, 6) == "Closed"
    assert week(OFFICE)[0] == ("Monday", "09:00 to 17:00")
    assert week(OFFICE)[5] == ("Saturday", "Closed")


def test_a_day_shows_the_night_before_running_past_midnight():
    assert describe_day(NIGHT, 5) == (
        "Until 02:00 (Friday night's hours) and 20:00 to 02:00 (Sunday)"
    )
    assert describe_day(NIGHT, 6) == "Until 02:00 (Saturday night's hours)"
    assert describe_day(NIGHT, 0) == "Closed"
    assert week(sessions("Sun 22:00-06:00"))[0] == ("Monday", "Until 06:00 (Sunday night's hours)")
    always = sessions("Mon-Sun 00:00-23:59; Fri 20:00-02:00")
    assert describe_day(always, 5) == "Open 24 hours"


@pytest.mark.parametrize(
    ("hours", "day", "time", "expected"),
    [
        ("Fri 20:00-02:00", 5, "01:30", "Open now until 02:00 (Friday night's hours)"),
        (
            "Fri,Sat 20:00-02:00",
            5,
            "00:00",
            "Open now until 02:00 (Friday night's hours), and today 20:00 to 02:00 (Sunday)",
        ),
        ("Fri 20:00-02:00", 5, "02:00", "Closed for the rest of today"),
        ("Fri,Sat 20:00-02:00", 5, "10:00", "Today 20:00 to 02:00 (Sunday) (closed now)"),
        ("Fri,Sat 20:00-02:00", 5, "20:00", "Today 20:00 to 02:00 (Sunday) (open now)"),
        ("Fri 20:00-02:00", 4, "21:00", "Today 20:00 to 02:00 (Saturday) (open now)"),
        ("Mon-Fri 09:00-17:00", 5, "12:00", "Closed today"),
        ("Mon-Sun 00:00-23:59", 2, "03:00", "Open 24 hours today (open now)"),
        ("Fri 18:00-00:00", 4, "23:59", "Today 18:00 to midnight (open now)"),
        ("Fri 18:00-00:00", 5, "00:30", "Closed today"),
    ],
)
def test_todays_text_after_midnight(hours, day, time, expected):
    assert today_text(sessions(hours), at(day, time)) == expected


def test_todays_text_says_open_now_exactly_when_open():
    patterns = [
        OFFICE,
        NIGHT,
        sessions("Sun 22:00-06:00"),
        sessions("Mon 08:30-12:30,13:30-16:30; Sun 23:00-01:00"),
        sessions("Mon-Sun 00:00-23:59"),
        sessions("Fri 18:00-00:00"),
        [],
    ]
    for pattern in patterns:
        for day in range(7):
            for minute in range(0, 24 * 60, 15):
                moment = at(day, f"{minute // 60:02}:{minute % 60:02}")
                text = today_text(pattern, moment).lower()
                assert ("open now" in text) == is_open(pattern, moment), (pattern, moment, text)


def test_closing_at_00_00_is_midnight_not_the_next_day():
    """A provider writes "until midnight" as 18:00-00:00: the evening, nothing the day
    after (it was shown as "Until 00:00 (Friday night's hours)" on Saturday)."""
    evening = sessions("Fri 18:00-00:00")
    assert describe_day(evening, 4) == "18:00 to midnight"
    assert describe_day(evening, 5) == "Closed"
    assert is_open(evening, at(4, "23:59")) and not is_open(evening, at(5, "00:00"))


def test_a_listing_with_no_set_hours_is_not_called_closed():
    """Appointments or outreach only: never open now, but not "Closed" either."""
    assert today_text([], at(2, "12:00")) == "No set hours: phone to check"
    assert week([])[0] == ("Monday", "No set hours")
    assert not is_open([], at(2, "12:00"))


def test_parse_and_format_round_trip():
    text = "Mon 09:00-17:00; Tue 09:00-17:00; Fri 20:00-02:00"
    assert format_hours(sessions(text)) == text
    assert len(sessions("Sat-Mon 10:00-12:00")) == 3  # ranges wrap round the week


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("Mon", "needs days and times"),
        ("Funday 09:00-17:00", "is not a day"),
        ("Mon 9-5", "is not a time range"),
        ("Mon 25:00-26:00", "is not a time range"),
        ("Mon 09:00-09:00", "opens and closes at the same time"),
    ],
)
def test_parse_errors_say_what_is_wrong(text, message):
    with pytest.raises(ValueError, match=message):
        parse_hours(text)


def test_sql_open_now_agrees_with_is_open(session):
    """Search filters open-now in SQL; pages show it from ``is_open``: they must agree."""

    from referrals.directory.search import open_service_ids

    from .factories import make_service

    patterns = {
        "office": [(d, "09:00", "17:00") for d in range(5)],
        "night": [(4, "20:00", "02:00"), (5, "20:00", "02:00")],
        "split": [(0, "08:30", "12:30"), (0, "13:30", "16:30")],
        "always": [(d, "00:00", "23:59") for d in range(7)],
        "sunday_night": [(6, "22:00", "06:00")],
        "until_midnight": [(4, "18:00", "00:00")],
        "none": [],
    }
    services = {
        name: make_service(session, name=name, hours=hours) for name, hours in patterns.items()
    }
    session.commit()
    times = [
        at(day, t)
        for day in range(7)
        for t in (
            "00:00",
            "01:59",
            "02:00",
            "05:59",
            "06:00",
            "08:29",
            "08:30",
            "09:00",
            "12:30",
            "13:29",
            "16:59",
            "17:00",
            "19:59",
            "20:00",
            "21:59",
            "22:00",
            "23:58",
            "23:59",
        )
    ]
    for moment in times:
        open_in_sql = set(session.scalars(open_service_ids(moment)))
        for name, service in services.items():
            expected = is_open(service.opening_hours, moment)
            assert (service.id in open_in_sql) == expected, (name, moment)
