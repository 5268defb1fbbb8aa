"""Targets against report periods: a count target (referrals in a year) is assessed only for
a period that is the target's own, a rate or waiting-time target for any period wholly
within its own; green, amber and red are decided exactly, on the figure as shown."""

import csv
import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.extensions import db
from referrals.models import AuditEvent, Service, Target, User
from referrals.reports.area_lookups import area_lookups
from referrals.reports.measures import MEASURES
from referrals.reports.pack import build_pack, quarters
from referrals.reports.params import settings
from referrals.reports.periods import last_complete_quarter, month_start
from referrals.reports.provision import services_per_area
from referrals.reports.snapshot import current
from referrals.reports.sorting import first_direction
from referrals.reports.tables import (
    AreaTable,
    TargetFigure,
    area_names,
    attach_targets,
    make_row,
    rag,
)
from referrals.reports.target_status import status, target_for

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

GLASGOW = "S12000049"
TODAY = dt.date.today()
LATEST = last_complete_quarter(TODAY)
# The financial year (April to March) holding the latest complete quarter.
FY_START = dt.date(LATEST.start.year - (LATEST.start.month < 4), 4, 1)
FY_END = dt.date(FY_START.year + 1, 3, 31)
# Fixed periods for the rules themselves: financial year 2026-27, one of its quarters, the
# 12 months to September 2026 (half in each of two financial years).
FY2026 = (dt.date(2026, 4, 1), dt.date(2027, 3, 31))
Q3_2026 = (dt.date(2026, 7, 1), dt.date(2026, 9, 30))
TWELVE_MONTHS_TO_SEP_2026 = (dt.date(2025, 10, 1), dt.date(2026, 9, 30))


def add_target(session, measure, period, value, geography="council", code=GLASGOW):
    session.add(
        Target(
            geography=geography,
            area_code=code,
            measure=measure,
            period_start=period[0],
            period_end=period[1],
            value=value,
        )
    )
    session.commit()


def targets_for(session, measure, period, entry=None):
    """The target the area table and the pack's status each find for Glasgow City, for a
    report period (None where none is assessed)."""
    row = make_row(f"council:{GLASGOW}", GLASGOW, "Glasgow City", entry or {}, {})
    national = make_row("national", "national", "Scotland", {}, {})
    facts = {"start": period[0].isoformat(), "end": period[1].isoformat()}
    table = AreaTable("council", facts, "all", [row], national, {})
    attach_targets(session, table, measure)
    found = target_for(session, "council", GLASGOW, measure, *period)
    return (
        None if row.target is None else row.target.value,
        None if found is None else found.value,
    )


# -- which target a period is assessed against --------------------------------------------


def test_an_annual_referrals_target_is_assessed_only_for_its_own_year(app, session):
    add_target(session, "referrals", FY2026, 180)
    # A quarter's 45 referrals are not a quarter of the year's target, nor red against it.
    assert targets_for(session, "referrals", Q3_2026, {"referrals": 45}) == (None, None)
    assert targets_for(session, "referrals", TWELVE_MONTHS_TO_SEP_2026) == (None, None)
    assert targets_for(session, "referrals", FY2026) == (180, 180)
    # The 12 months to March are the financial year by another name.
    assert targets_for(session, "referrals", (dt.date(2026, 4, 1), dt.date(2027, 3, 31))) == (
        180,
        180,
    )
    assert status("referrals", 45.0, None, "45").text == "No target set"


def test_a_rate_target_applies_to_each_quarter_of_its_year_not_to_12_months_across_two(
    app, session
):
    add_target(session, "conversion_rate", FY2026, 0.7)
    assert targets_for(session, "conversion_rate", Q3_2026) == (0.7, 0.7)
    assert targets_for(session, "conversion_rate", FY2026) == (0.7, 0.7)
    assert targets_for(session, "conversion_rate", TWELVE_MONTHS_TO_SEP_2026) == (None, None)


def test_a_rate_target_for_a_quarter_is_not_a_target_for_its_year(app, session):
    add_target(session, "acceptance_rate", Q3_2026, 0.8)
    assert targets_for(session, "acceptance_rate", Q3_2026) == (0.8, 0.8)
    assert targets_for(session, "acceptance_rate", FY2026) == (None, None)


def test_a_waiting_time_target_applies_like_a_rate_target(app, session):
    add_target(session, "median_days_to_treatment", FY2026, 21)
    assert targets_for(session, "median_days_to_treatment", Q3_2026) == (21, 21)
    assert targets_for(session, "median_days_to_treatment", TWELVE_MONTHS_TO_SEP_2026) == (
        None,
        None,
    )


def test_a_quarters_own_rate_target_wins_over_its_years(app, session):
    add_target(session, "engagement_rate", FY2026, 0.6)
    add_target(session, "engagement_rate", Q3_2026, 0.65)
    assert targets_for(session, "engagement_rate", Q3_2026) == (0.65, 0.65)
    assert targets_for(
        session, "engagement_rate", (dt.date(2026, 4, 1), dt.date(2026, 6, 30))
    ) == (
        0.6,
        0.6,
    )


# -- green, amber and red, exactly ---------------------------------------------------------


def test_a_rate_exactly_5_points_short_of_its_target_is_amber_never_red():
    measure = MEASURES["conversion_rate"]
    assert rag(measure, 700 / 1000, 75 / 100) == "amber"  # 70.0% against 75%
    wrong = []
    for target in range(5, 101):  # whole percentages, as most targets are entered
        for tenths in range(1001):  # every rate the table can show
            short = 10 * target - tenths  # in tenths of a percent
            want = "green" if short <= 0 else "amber" if short <= 50 else "red"
            if rag(measure, tenths / 1000, target / 100) != want:
                wrong.append((tenths, target))
    assert wrong == []


def test_a_rate_equal_to_a_target_entered_with_a_decimal_is_green(app, client, session):
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    sign_in(client, "admin@t.example")
    for entered in ("0.9", "1.4", "12.5", "66.7"):
        form = {
            "area": f"council:{GLASGOW}",
            "measure": "conversion_rate",
            "period_start": "2026-04-01",
            "period_end": "2027-03-31",
            "value": entered,
        }
        assert client.post("/reports/targets", data=form).status_code == 302
        stored = session.scalar(sa.select(Target))
        session.refresh(stored)
        exact = float(Decimal(entered) / 100)
        # Stored as the fraction entered (0.9% as 0.009, not 0.009000000000000001)...
        assert stored.value == exact, entered
        # ...and a rate shown as exactly the target has met it, however it was stored.
        measure = MEASURES["conversion_rate"]
        for target in (stored.value, float(Decimal(entered)) / 100):
            assert rag(measure, exact, target) == "green", entered
            if Decimal(entered) >= 5:
                five_short = float((Decimal(entered) - 5) / 100)
                assert rag(measure, five_short, target) == "amber", entered


def test_the_area_table_colours_a_rate_by_the_figure_it_shows(app, session):
    add_target(session, "conversion_rate", FY2026, 0.14)
    # 9 of 100 is 9.0%: 5.0 points short of 14%.
    row = make_row(
        f"council:{GLASGOW}", GLASGOW, "Glasgow City", {"conversion_rate": [9, 100]}, {}
    )
    national = make_row("national", "national", "Scotland", {}, {})
    facts = {"start": Q3_2026[0].isoformat(), "end": Q3_2026[1].isoformat()}
    attach_targets(
        session, AreaTable("council", facts, "all", [row], national, {}), "conversion_rate"
    )
    assert row.rates["conversion_rate"].text == "9.0%"
    assert row.target.rag == "amber"
    # 51 of 80 shows as 63.8% (63.75% exactly): 5.0 points short of 68.8% as shown.
    assert rag(MEASURES["conversion_rate"], 0.638, 0.688) == "amber"


def test_a_count_where_fewer_is_better_is_amber_within_its_share_of_the_target():
    """Starts after more than 6 weeks, target 40: up to 5% over (42) is amber, more is
    red. The margin was 5% of one referral, so any excess at all was red."""
    measure = MEASURES["started_over_42"]
    assert not measure.higher_is_better and measure.kind == "count"
    assert [rag(measure, n, 40) for n in (35, 40, 41, 42, 43, 60)] == [
        "green",
        "green",
        "amber",
        "amber",
        "red",
        "red",
    ]
    # More is better: 10% short of 200 referrals is amber (180), more is red.
    referrals = MEASURES["referrals"]
    assert [rag(referrals, n, 200) for n in (200, 180, 179)] == ["green", "amber", "red"]


def test_a_target_for_referrals_declined_is_a_most_not_a_least():
    """Fewer declines is better: 12 declines against a target of 10 was green (read as
    more than the least wanted); it is red, and the target reads "at most 10"."""
    declined = MEASURES["declined"]
    assert [rag(declined, n, 10) for n in (8, 10, 10.5, 12)] == ["green", "green", "amber", "red"]
    target = Target(
        geography="council",
        area_code="S12000049",
        measure="declined",
        period_start=dt.date(2026, 4, 1),
        period_end=dt.date(2027, 3, 31),
        value=10,
    )
    assert (
        status("declined", 12, target, "12").text
        == "Red: target missed: 12 against a target of at most 10"
    )
    assert first_direction("declined") == "asc"  # the best, fewest, first


def test_a_target_with_a_decimal_shows_as_entered():
    measure = MEASURES["conversion_rate"]
    figure = TargetFigure(0.125, *FY2026, "green", measure)
    assert figure.text == "12.5%"
    assert TargetFigure(0.75, *FY2026, "green", measure).text == "75%"
    assert status("conversion_rate", 0.13, None, "13.0%").target is None
    assert TargetFigure(180, *FY2026, "red", MEASURES["referrals"]).text == "180"


# -- on the pages --------------------------------------------------------------------------


def refer(session, day: dt.date, made: int, accepted: int) -> None:
    """``made`` referrals from Glasgow City on ``day``, the first ``accepted`` accepted."""
    service = session.scalar(sa.select(Service))
    custody = session.scalar(sa.select(User).where(User.email == "c@t.example"))
    with session.no_autoflush:
        for j in range(made):
            make_referral(
                session,
                service=service,
                referrer=custody,
                referred_on=day,
                council_name="Glasgow City",
                status="accepted" if j < accepted else "made",
                accepted_on=day + dt.timedelta(days=1) if j < accepted else None,
                flush=False,
            )
    session.commit()


@pytest.fixture
def latest_quarter(session):
    """Glasgow City: 45 referrals in the latest complete quarter, 30 of them accepted."""
    make_service(session, organisation=make_organisation(session))
    make_user(session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.LEAD, email="lead@t.example", areas=[council(session, "Glasgow City")])
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    refer(session, LATEST.start + dt.timedelta(days=10), 45, 30)


def chart_section(html: str, title: str) -> str:
    """The trends page's section for the chart titled ``title``."""
    start = html.index(f">{title}<")
    return html[start : html.index("</section>", start)]


def test_a_target_a_colleague_saves_at_the_same_moment_is_replaced_not_an_error(
    app, client, session
):
    """A colleague's target for the same area, measure and period is written while this
    save is on its way: this save answers as any does, and the area keeps one target, the
    later."""
    make_user(session, Role.ADMIN, email="admin@t.example")
    colleague = make_user(session, Role.ADMIN, email="colleague@t.example")
    session.commit()
    sign_in(client, "admin@t.example")
    other_engine = session.get_bind()
    with app.app_context():
        engine = db.engine
    done: list[bool] = []

    def colleague_saves_first(conn, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO targets") and not done:
            done.append(True)
            with other_engine.begin() as theirs:
                theirs.execute(
                    sa.insert(Target).values(
                        geography="council",
                        area_code=GLASGOW,
                        measure="conversion_rate",
                        period_start=FY2026[0],
                        period_end=FY2026[1],
                        value=0.5,
                        set_by_id=colleague.id,
                    )
                )

    form = {
        "area": f"council:{GLASGOW}",
        "measure": "conversion_rate",
        "period_start": "2026-04-01",
        "period_end": "2027-03-31",
        "value": "60",
    }
    sa.event.listen(engine, "before_cursor_execute", colleague_saves_first)
    try:
        response = client.post("/reports/targets", data=form)
    finally:
        sa.event.remove(engine, "before_cursor_execute", colleague_saves_first)
    assert done, "the colleague's target was not written first"
    assert response.status_code == 302
    assert "Target saved for Glasgow City" in client.get("/reports/targets").get_data(as_text=True)
    [target] = session.scalars(sa.select(Target)).all()
    assert (target.value, target.set_by.email) == (0.6, "admin@t.example")
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "target_set"))
    assert (event.object_type, event.object_id) == ("targets", str(target.id))


def test_the_area_table_does_not_rate_a_quarter_against_an_annual_referrals_target(
    client, session, latest_quarter
):
    add_target(session, "referrals", (FY_START, FY_END), 180)
    sign_in(client, "admin@t.example")
    text = client.get(
        f"/reports/areas.csv?group=council&measure=referrals&period={LATEST.code}"
    ).get_data(as_text=True)
    (row,) = [
        r
        for r in csv.DictReader(io.StringIO(text))
        if r["area"] == "Glasgow City" and r["measure"] == "referrals"
    ]
    assert row["value"] == "45"
    assert (row["target"], row["rag"]) == ("", "")


def test_trends_draw_no_annual_referrals_target_on_the_quarterly_chart(
    client, session, latest_quarter
):
    add_target(session, "referrals", (FY_START, FY_END), 180)
    sign_in(client, "admin@t.example")
    html = client.get(f"/reports/trends?group=council&area={GLASGOW}&measure=referrals").get_data(
        as_text=True
    )
    section = chart_section(html, "Referrals made by quarter: Glasgow City and Scotland")
    assert "trend-plot" in section  # the chart is drawn...
    assert "Target 180" not in section and "trend-target" not in section  # ...without it


def test_trends_draw_a_years_referrals_target_on_the_yearly_chart_only(
    client, session, latest_quarter
):
    # A target for the 12 months to the end of the latest quarter, the yearly chart's latest.
    add_target(session, "referrals", (month_start(LATEST.last - 11), LATEST.end), 180)
    sign_in(client, "admin@t.example")
    html = client.get(f"/reports/trends?group=council&area={GLASGOW}&measure=referrals").get_data(
        as_text=True
    )
    assert "Target 180" in chart_section(html, "Referrals made by year: Glasgow City and Scotland")
    quarterly = chart_section(html, "Referrals made by quarter: Glasgow City and Scotland")
    assert "Target 180" not in quarterly


def test_trends_draw_a_years_rate_target_on_the_quarterly_chart(client, session, latest_quarter):
    # Enough referrals in the 12 months for the division's quarterly rates to be published.
    refer(session, LATEST.start - dt.timedelta(days=80), 160, 100)
    add_target(
        session, "acceptance_rate", (FY_START, FY_END), 0.7, geography="police_division", code="G"
    )
    sign_in(client, "admin@t.example")
    html = client.get(
        "/reports/trends?group=police_division&area=G&measure=acceptance_rate"
    ).get_data(as_text=True)
    section = chart_section(html, "Acceptance rate by quarter: Greater Glasgow and Scotland")
    assert "Target 70%" in section


def test_the_pack_assesses_referrals_only_against_a_target_for_its_year(
    app, client, session, latest_quarter
):
    # A target for the 12 months from the quarter's start: the quarter lies in it, but
    # neither the quarter nor the pack's latest 12 months is its period.
    ahead = (LATEST.start, dt.date(LATEST.start.year + 1, LATEST.start.month, 1) - dt.timedelta(1))
    add_target(session, "referrals", ahead, 180, geography="police_division", code="G")
    figures = current(session, settings(TODAY))
    quarter = next(q for q in quarters(figures) if q["code"] == LATEST.code)
    pack = build_pack(session, figures, "police_division", "G", quarter)
    line = next(line for line in pack.lines if line.measure.code == "referrals")
    assert line.status.rag == "no target" and line.status.text == "No target set"
    assert line.chart.target_y is None
    # A target for exactly the pack's year is assessed.
    year = line.year_period
    add_target(
        session,
        "referrals",
        (dt.date.fromisoformat(year["start"]), dt.date.fromisoformat(year["end"])),
        180,
        geography="police_division",
        code="G",
    )
    pack = build_pack(session, figures, "police_division", "G", quarter)
    line = next(line for line in pack.lines if line.measure.code == "referrals")
    assert line.status.target == 180 and "against a target of at least 180" in line.status.text
    assert line.chart.target_y is None  # still not on the quarters


def test_a_chart_labels_a_target_as_it_was_entered():
    from referrals.reports.trend_charts import trend_chart

    chart = trend_chart([], "engagement_rate", "Engagement", area_name="Fife", target=0.125)
    assert chart.target_text == "12.5%"


@pytest.mark.parametrize(
    ("grouping", "measure"),
    [
        ("council", "conversion_rate"),
        ("council", "referrals"),
        ("adp", "median_days_to_treatment"),
        ("health_board", "conversion_rate"),
    ],
)
def test_the_area_pages_look_ups_read_together_are_those_read_alone(
    app, session, grouping, measure
):
    """The area table reads its areas' names, targets, services per area and the lead's
    own councils in one statement: each the same as read by its own statement."""
    make_service(session, organisation=make_organisation(session))
    code = GLASGOW if grouping == "council" else None
    if code is None:  # Glasgow City's ADP or health board
        glasgow = council(session, "Glasgow City")
        code = (glasgow.adp if grouping == "adp" else glasgow.health_board).code
    add_target(session, measure, FY2026, 0.5, geography=grouping, code=code)
    add_target(session, measure, Q3_2026, 0.6, geography=grouping, code=code)
    lead = make_user(
        session,
        Role.LEAD,
        email="l@t.example",
        areas=[council(session, "Glasgow City"), council(session, "Fife")],
    )
    session.commit()
    session.expire_all()
    facts = {"start": Q3_2026[0].isoformat(), "end": Q3_2026[1].isoformat()}
    choices = SimpleNamespace(grouping=grouping, measure=measure, period_facts=facts)
    found = area_lookups(session, lead, choices)

    assert found.names == area_names(session, grouping)
    assert found.provision == services_per_area(session, grouping)
    national = make_row("national", "national", "Scotland", {}, {})
    rows = [make_row(key, c, name, {}, {}) for key, c, name in found.names]
    alone = [make_row(key, c, name, {}, {}) for key, c, name in found.names]
    attach_targets(
        session, AreaTable(grouping, facts, "all", rows, national, {}), measure, found.targets
    )
    attach_targets(session, AreaTable(grouping, facts, "all", alone, national, {}), measure)
    assert [r.target for r in rows] == [r.target for r in alone]
    assert {r.code: r.target.value for r in rows if r.target} == {code: 0.6}
    assert "areas" not in sa.inspect(lead).unloaded  # the lead's councils, as if read
    read = [(a.code, a.name, a.adp_id, a.population, a.edited_at) for a in lead.areas]
    session.expire_all()  # each council read again, as the lead's areas are read alone
    assert read == [(a.code, a.name, a.adp_id, a.population, a.edited_at) for a in lead.areas]
    assert [a.name for a in lead.areas] == ["Fife", "Glasgow City"]
