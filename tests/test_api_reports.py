"""Reports as data: a reports system reads exactly the protected figures the pages and
the CSV show, with the period, as-of date, windows and thresholds, and every hidden
figure null with its reason."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re

import pytest
import sqlalchemy as sa

from referrals.api.models import ApiClient
from referrals.choices import Role
from referrals.models import AuditEvent, Service, User

from .factories import (
    bearer,
    make_api_client,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_auth import sign_in

TODAY = dt.date.today()
CELLS = ("value", "numerator", "denominator")


@pytest.fixture
def figures(session):
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.LEAD, email="lead@t.example")
    old = TODAY - dt.timedelta(days=150)
    # Enough referrals for most figures, and a council area with three (hidden: "<5").
    for name, count in (
        ("Glasgow City", 30),
        ("Fife", 40),
        ("City of Edinburgh", 50),
        ("Angus", 3),
    ):
        for j in range(count):
            started = j % 3
            make_referral(
                session,
                service=service,
                referrer=custody,
                referred_on=old,
                council_name=name,
                status="treatment_started" if started else "accepted",
                accepted_on=old + dt.timedelta(days=1),
                engaged_on=old + dt.timedelta(days=3) if started else None,
                treatment_started_on=old + dt.timedelta(days=12) if started else None,
            )
    _reports, token = make_api_client(session, Role.LEAD, name="Analysts' system")
    _custody, custody_token = make_api_client(
        session, Role.CUSTODY, suites=[suite(session, "PAI")]
    )
    session.commit()
    return {"token": token, "custody_token": custody_token}


def number(text: str):
    if text == "":
        return None
    return float(text) if "." in text else int(text)


def test_only_reports_systems_read_the_figures(client, figures):
    reports, custody = bearer(figures["token"]), bearer(figures["custody_token"])
    for path in ("", "/areas", "/national", "/quarterly", "/trends?area=S12000049"):
        url = f"/api/v1/reports{path}"
        assert client.get(url).status_code == 401, url
        assert client.get(url, headers=custody).status_code == 403, url
        answer = client.get(url, headers=reports)
        assert answer.status_code == 200, (url, answer.get_json())
        assert "Access-Control-Allow-Origin" not in answer.headers
    # A reports system sees no referral at all.
    assert client.get("/api/v1/referrals", headers=reports).status_code == 403


@pytest.mark.parametrize("group", ["council", "health_board", "custody_suite", "service"])
def test_the_areas_answer_equals_the_csv_and_hides_what_it_hides(client, session, figures, group):
    sign_in(client, "lead@t.example")
    query = f"group={group}"
    lines = list(csv.DictReader(io.StringIO(client.get(f"/reports/areas.csv?{query}").text)))
    answer = client.get(f"/api/v1/reports/areas?{query}", headers=bearer(figures["token"]))
    assert answer.status_code == 200
    body = answer.get_json()
    assert body["as_of"] == lines[0]["as_of"] == TODAY.isoformat()
    assert body["period"]["code"] == lines[0]["period"]
    assert body["settings"] == {
        "engagement_window_days": 28,
        "treatment_window_days": 84,
        "count_threshold": 5,
        "min_denominator": 10,
        "large_area_referrals": 200,
    }
    rows = {row["code"]: row for row in [*body["areas"], body["national"]]}
    assert len(lines) == len(rows) * len(body["measures"])
    hidden_seen = set()
    for line in lines:
        row = rows[line["area_code"] or "national"]
        assert row["name"] == line["area"]
        shown = row["figures"][line["measure"]]
        for cell in CELLS:
            assert shown[cell] == number(line[cell]), (line, cell)
        for name in ("ci95", "ci998"):
            low, high = number(line[f"{name}_low"]), number(line[f"{name}_high"])
            assert shown[name] == (None if low is None else [low, high])
        assert (shown["compared_with_national"] or "") == line["compared_with_national"]
        if shown["hidden"]:
            # Nothing of a hidden figure is given: no value, no parts, no interval.
            assert shown["value"] is None and shown["numerator"] is None
            assert shown["denominator"] is None and shown["ci95"] is None
            assert shown["null_reason"]["label"] == line["value_note"]
            hidden_seen.add(shown["null_reason"]["code"])
        elif shown["value"] is None:
            assert shown["null_reason"]["code"] == "no_referrals" and not shown["numerator"]
        else:
            assert shown["null_reason"] is None and line["value_note"] == ""
    if group == "council":
        angus = next(r for r in body["areas"] if r["name"] == "Angus")
        referrals = angus["figures"]["referrals"]
        assert referrals["hidden"] and referrals["value"] is None
        # Three referrals: withheld, as on the page ("<5", or the whole area withdrawn).
        assert referrals["null_reason"]["code"] in {"small_count", "withdrawn"}
        assert hidden_seen
    audit = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "report_read"))
    assert audit.object_id == "api:areas" and audit.actor.startswith("api-client-")


def test_scotland_trends_and_the_quarterly_report_use_the_same_figures(client, figures):
    headers = bearer(figures["token"])
    index = client.get("/api/v1/reports", headers=headers).get_json()
    period = index["latest_period"]
    assert period in [p["code"] for p in index["periods"]]
    national = client.get(f"/api/v1/reports/national?period={period}", headers=headers)
    assert national.status_code == 200
    scotland = national.get_json()
    areas = client.get(f"/api/v1/reports/areas?period={period}", headers=headers).get_json()
    for measure in areas["measures"]:
        assert scotland["national"]["figures"][measure] == areas["national"]["figures"][measure]
    assert scotland["national"]["figures"]["referrals"]["value"] == 123
    trends = client.get("/api/v1/reports/trends?area=S12000049", headers=headers).get_json()
    assert trends["area"] == {"code": "S12000049", "name": "Glasgow City"}
    assert trends["years"] and all(
        item["national"]["referrals"]["value"] in (123, None) for item in trends["years"]
    )
    quarterly = client.get("/api/v1/reports/quarterly", headers=headers).get_json()
    assert quarterly["period"]["kind"] == "quarter"
    assert quarterly["measure"] == "conversion_rate" and isinstance(quarterly["trend"], list)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ("areas?group=galaxy", "group"),
        ("areas?measure=happiness", "measure"),
        ("areas?period=1999Q1", "period"),
        ("areas?from=2026-01-01", "from"),
        ("areas?as_of=yesterday", "as_of"),
        ("areas?group=council&people=sex:female", "people"),
        ("trends?area=nowhere", "area"),
        ("quarterly?quarter=2026Q9", "quarter"),
        ("quarterly?measure=referrals", "measure"),
        ("national?group=council", "group"),
    ],
)
def test_choices_that_are_not_valid_are_refused_by_name(client, figures, query, field):
    answer = client.get(f"/api/v1/reports/{query}", headers=bearer(figures["token"]))
    assert answer.status_code == 400, answer.get_json()
    assert field in answer.get_json()["errors"]


def test_an_admin_registers_a_reports_system_from_the_page_or_the_command_line(
    client, session, runner
):
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    form = client.get("/admin/api-clients/new").text
    assert "Reports system (reads the published figures, like an area lead)" in form
    made = client.post("/admin/api-clients/new", data={"name": "Board analysts", "role": "lead"})
    assert made.status_code == 200, made.text
    assert "/api/v1/reports/areas" in made.text
    token = re.search(r'<textarea id="token"[^>]*>(rpk_[^<]+)</textarea>', made.text).group(1)
    assert client.get("/api/v1/reports/areas", headers=bearer(token)).status_code == 200
    listing = client.get("/admin/api-clients").text
    assert "Reports system" in listing and "Published reports" in listing
    stored = session.scalar(sa.select(ApiClient).where(ApiClient.name == "Board analysts"))
    page = client.get(f"/admin/api-clients/{stored.id}").text
    assert "reads the published report figures" in page and "Webhook" not in page
    renamed = client.post(f"/admin/api-clients/{stored.id}", data={"name": "Board figures"})
    assert renamed.status_code == 302
    printed = runner.invoke(
        args=["create-api-client", "--name", "Health board figures", "--role", "reports"]
    )
    assert printed.exit_code == 0, printed.output
    cli_token = printed.output.strip().splitlines()[-1]
    assert client.get("/api/v1/reports", headers=bearer(cli_token)).status_code == 200
    assert client.get("/api/v1/referrals", headers=bearer(cli_token)).status_code == 403


def test_a_quarterly_report_about_an_earlier_quarter_ends_its_trend_there(
    client, session, figures
):
    """The paper for a quarter shows Scotland's quarters up to that one, not after it."""
    service = session.scalar(sa.select(Service))
    custody = session.scalar(sa.select(User).where(User.role == Role.CUSTODY))
    for _ in range(40):  # a quarter earlier too
        make_referral(
            session,
            service=service,
            referrer=custody,
            referred_on=TODAY - dt.timedelta(days=330),
            council_name="Fife",
            status="accepted",
            accepted_on=TODAY - dt.timedelta(days=329),
        )
    session.commit()
    headers = bearer(figures["token"])
    index = client.get("/api/v1/reports", headers=headers).get_json()
    quarters = sorted(p["code"] for p in index["periods"] if p["kind"] == "quarter")
    assert len(quarters) >= 2
    earlier = quarters[-2]
    paper = client.get(f"/api/v1/reports/quarterly?quarter={earlier}", headers=headers).get_json()
    assert paper["period"]["code"] == earlier
    shown = [item["period"]["code"] for item in paper["trend"]]
    assert shown and shown[-1] == earlier and quarters[-1] not in shown
