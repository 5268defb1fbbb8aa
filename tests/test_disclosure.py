"""Disclosure control: the rule on plain numbers, then data designed to leak, checked in
every view and export."""

import csv
import datetime as dt
import io
import json
import re

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AreaGroup, CouncilArea
from referrals.reports.disclosure import Cells, Hidden, Relation, protect, rate_is_small

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in

T = 5


# -- the rule on plain numbers --------------------------------------------------------------


def test_primary_suppression_of_counts_and_rates():
    cells = Cells(
        counts={"a": {"made": 3}, "b": {"made": 0}, "c": {"made": 5}},
        rates={
            "a": {"r": (1, 10)},
            "b": {"r": (0, 0)},
            "c": {"r": (7, 7)},
            "d": {"r": (6, 7)},
            "e": {"r": (0, 3)},
            "f": {"r": (0, 12)},
        },
    )
    hidden = protect(cells, [], T)
    assert hidden.count("a", "made") and not hidden.count("b", "made")
    assert not hidden.count("c", "made")
    assert hidden.rate("a", "r")  # numerator 1
    assert not hidden.rate("b", "r")  # no data: nothing to hide
    assert not hidden.rate("c", "r")  # 100% of 7: numerator 7, complement 0
    assert hidden.rate("d", "r")  # 6 of 7: one person without the outcome
    assert hidden.rate("e", "r")  # 0% of 3: denominator 3
    assert not hidden.rate("f", "r")  # 0% of 12 is shown
    assert rate_is_small(4, 100, T) and rate_is_small(96, 100, T)
    assert not rate_is_small(5, 100, T) and not rate_is_small(95, 100, T)


def test_one_hidden_part_of_a_shown_total_forces_another():
    cells = Cells(
        counts={"total": {"n": 60}, "a": {"n": 3}, "b": {"n": 20}, "c": {"n": 37}}, rates={}
    )
    hidden = protect(cells, [Relation("total", ("a", "b", "c"))], T)
    assert hidden.count("a", "n") and hidden.count("b", "n")  # b, the smallest, joins a
    assert not hidden.count("c", "n") and not hidden.count("total", "n")


def test_two_hidden_parts_summing_below_the_threshold_force_a_third():
    cells = Cells(
        counts={"t": {"n": 50}, "a": {"n": 1}, "b": {"n": 2}, "c": {"n": 10}, "d": {"n": 37}},
        rates={},
    )
    hidden = protect(cells, [Relation("t", ("a", "b", "c", "d"))], T)
    # a and b are primary; their sum (3) would be revealed, so c is hidden too.
    assert {k for k in "abcd" if hidden.count(k, "n")} == {"a", "b", "c"}


def test_rates_need_enough_with_and_without_the_outcome_hidden():
    cells = Cells(
        counts={},
        rates={
            "t": {"r": (60, 100)},
            "a": {"r": (2, 6)},
            "b": {"r": (20, 40)},
            "c": {"r": (38, 54)},
        },
    )
    hidden = protect(cells, [Relation("t", ("a", "b", "c"))], T)
    assert hidden.rate("a", "r") and hidden.rate("b", "r") and not hidden.rate("c", "r")


def test_a_parent_with_only_hidden_parts_left_is_hidden():
    cells = Cells(counts={"adp": {"n": 43}, "x": {"n": 3}, "y": {"n": 40}}, rates={})
    hidden = protect(cells, [Relation("adp", ("x", "y"))], T)
    # y is the only other part: hiding y (not the ADP) keeps x safe.
    assert hidden.count("x", "n") and hidden.count("y", "n") and not hidden.count("adp", "n")
    single = Cells(counts={"adp": {"n": 3}, "x": {"n": 3}}, rates={})
    assert protect(single, [Relation("adp", ("x",))], T).count("adp", "n")


def test_initially_hidden_figures_stay_hidden():
    cells = Cells(counts={"t": {"n": 30}, "a": {"n": 10}, "b": {"n": 20}}, rates={})
    hidden = protect(cells, [Relation("t", ("a", "b"))], T, initial=Hidden({("a", "n")}, set()))
    assert hidden.count("a", "n") and hidden.count("b", "n")


# -- data designed to leak, in every view ------------------------------------------------------

TODAY = dt.date.today()


@pytest.fixture
def leaky(session):
    """Clackmannanshire: 3 referrals. Moray: 7 mature referrals, all accepted, 6 engaged.
    MELDAP: East Lothian with 2 referrals beside Midlothian with 30. Big areas around."""
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.LEAD, email="lead@t.example")
    old = TODAY - dt.timedelta(days=120)

    def referrals(council_name, count, accepted=0, engaged=0, started=0):
        for i in range(count):
            fields = {}
            status = "made"
            if i < accepted:
                fields["accepted_on"], status = old + dt.timedelta(days=1), "accepted"
            if i < engaged:
                fields["engaged_on"], status = old + dt.timedelta(days=5), "engaged"
            if i < started:
                fields["treatment_started_on"] = old + dt.timedelta(days=15)
                status = "treatment_started"
            make_referral(
                session,
                service=service,
                referrer=custody,
                referred_on=old,
                council_name=council_name,
                status=status,
                **fields,
            )

    referrals("Clackmannanshire", 3, accepted=2, engaged=1)
    referrals("Moray", 7, accepted=7, engaged=6, started=5)
    referrals("East Lothian", 2, accepted=1)
    referrals("Midlothian", 30, accepted=25, engaged=20, started=12)
    for name in (
        "Glasgow City",
        "City of Edinburgh",
        "Fife",
        "Stirling",
        "Aberdeen City",
        "Highland",
        "Aberdeenshire",
        "Dundee City",
    ):
        referrals(name, 40, accepted=30, engaged=22, started=14)
    session.commit()
    return {"clack": "Clackmannanshire", "moray": "Moray"}


def fetch(client, url):
    response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True)


def csv_table(client, group):
    text = fetch(client, f"/reports/areas.csv?group={group}&measure=acceptance_rate")
    return {row["area"]: row for row in csv.DictReader(io.StringIO(text))}


def test_small_counts_and_rates_are_hidden_in_the_table_and_csv(client, leaky):
    sign_in(client, "lead@t.example")
    rows = csv_table(client, "council")
    clack = rows["Clackmannanshire"]
    assert clack["referrals"] == "<5"
    assert all(
        clack[name] == "suppressed"
        for name in ("acceptance_rate", "engagement_rate", "conversion_rate")
    )
    assert clack["acceptance_rate_ci95_low"] == ""
    moray = rows["Moray"]
    assert moray["referrals"] == "7"
    # 7 of 7 passes the primary rule (nobody without the outcome), but may be hidden as a
    # complement of the small areas' hidden rates.
    assert moray["acceptance_rate"] in ("100.0%", "suppressed")
    assert moray["engagement_rate"] == "suppressed"  # 6 of 7: one person without it
    assert moray["engagement_to_treatment"] == "suppressed"  # 5 of 6: one without it
    html = fetch(client, "/reports/areas?group=council&measure=acceptance_rate")
    row = re.search(r">Clackmannanshire</a></th>(.*?)</tr>", html, re.S).group(1)
    assert "&lt;5" in row and ">3<" not in row
    assert "%" not in row.split("</td>")[2]


def test_nothing_is_recoverable_by_subtraction_across_geographies(client, session, leaky):
    """For every relation (councils to Scotland; councils to their ADP, division and
    board), wherever a total is shown, its hidden parts are at least two and hold at least
    five people; a hidden total always has a hidden part."""
    sign_in(client, "lead@t.example")
    tables = {
        g: csv_table(client, g) for g in ("council", "adp", "police_division", "health_board")
    }
    names = {("council", c.id): c.name for c in session.scalars(sa.select(CouncilArea))}
    names.update({(g.kind.value, g.id): g.name for g in session.scalars(sa.select(AreaGroup))})
    councils = session.scalars(sa.select(CouncilArea)).all()
    true_made = {row["area"]: row["referrals"] for row in tables["council"].values()}
    from referrals.reports.measures import Params, grouped_counts

    params = Params(TODAY - dt.timedelta(days=364), TODAY, TODAY)
    real, _ = grouped_counts(session, "council", params)
    value = {c.name: (real[c.id]["made"] if c.id in real else 0) for c in councils}

    def check(total_shown: bool, parts: list[str]):
        hidden = [p for p in parts if true_made[p] in ("<5", "[c]")]
        if total_shown and hidden:
            assert len(hidden) >= 2 and sum(value[p] for p in hidden) >= T, (parts, hidden)

    check(True, [c.name for c in councils])
    for level, column in (
        ("adp", "adp_id"),
        ("police_division", "police_division_id"),
        ("health_board", "health_board_id"),
    ):
        for parent_id in {getattr(c, column) for c in councils}:
            parent = names[(level, parent_id)]
            shown = tables[level][parent]["referrals"] not in ("<5", "[c]")
            check(shown, [c.name for c in councils if getattr(c, column) == parent_id])
    # The MELDAP case: East Lothian is small, so Midlothian cannot be shown beside a shown ADP.
    meldap = tables["adp"][next(n for n in tables["adp"] if "MELDAP" in n)]
    if meldap["referrals"] not in ("<5", "[c]"):
        assert true_made["Midlothian"] in ("<5", "[c]")


def test_the_map_frame_carries_only_protected_figures(client, leaky):
    sign_in(client, "lead@t.example")
    html = fetch(client, "/reports/map/frame?group=council&measure=acceptance_rate")
    data = json.loads(re.search(r"var areas = (\[.*?\]);\n", html, re.S).group(1))
    clack = next(a for a in data if a["name"] == "Clackmannanshire")
    assert "Referrals: <5" in clack["lines"] and "Referrals: 3" not in clack["lines"]
    assert clack["fill"] == "#BDBDBD" and "suppressed" in clack["badge"]
    assert not any("66.7%" in line for line in clack["lines"])  # 2 of 3 accepted


def test_funnel_trends_dashboard_and_quarterly_hide_the_same(client, leaky):
    sign_in(client, "lead@t.example")
    funnel = fetch(client, "/reports/funnel?group=council&measure=engagement_rate")
    assert re.search(r"Clackmannanshire</th><td class=\"num\">-</td>", funnel)
    assert re.search(r"Moray</th><td class=\"num\">-</td>", funnel)  # 6 of 7 engaged
    trends = fetch(client, "/reports/trends?group=council&area=S12000005")
    assert "3</td>" not in trends.split("Referrals and waits")[1].split("Scotland")[0]
    quarter = f"{TODAY.year}Q{(TODAY.month - 1) // 3 + 1}"
    start_quarter = TODAY - dt.timedelta(days=120)
    q = f"{start_quarter.year}Q{(start_quarter.month - 1) // 3 + 1}"
    paper = fetch(client, f"/reports/quarterly?quarter={q}")
    row = re.search(r">Clackmannanshire</th>(.*?)</tr>", paper, re.S).group(1)
    assert "&lt;5" in row and "%" not in row
    assert quarter  # the current quarter also renders
    assert fetch(client, f"/reports/quarterly?quarter={quarter}")
    dashboard = fetch(client, "/reports/?pathway=near_fatal_overdose")
    assert "no data" in dashboard or "&lt;5" in dashboard or ">0<" in dashboard
