"""Trend charts and the quarterly pack: the charts draw the published figures with their
intervals, gaps and significant changes; the pack (page and PDF) holds every measure with
the same figures as the other report pages, and hides what they hide."""

import datetime as dt
import io

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.models import AuditEvent, Target, utcnow
from referrals.reports.measures import MEASURES
from referrals.reports.pack import build_pack, quarters
from referrals.reports.params import settings
from referrals.reports.periods import last_complete_quarter, quarter_of
from referrals.reports.snapshot import current
from referrals.reports.tables import make_row
from referrals.reports.trend_charts import trend_chart
from referrals.statistics import changed

from .factories import council, make_organisation, make_referral, make_service, make_user, suite
from .outputs import percent_half_up
from .test_auth import sign_in

TODAY = dt.date.today()
LATEST = last_complete_quarter(TODAY)
# Glasgow City's conversions in the five quarters up to the latest (of 60 each), oldest
# first: a big rise into the third, so that quarter differs significantly from the one
# before. The latest quarters' conversions are published once they are followed up.
GLASGOW_CONVERTED = (15, 18, 40, 36, 30)
EDINBURGH = (30, 10)  # referrals and conversions each quarter
# Fife: 8 referrals a quarter, one converted, so its 12-month conversion rate (4 of 32,
# 12.5%) is hidden as "<5".
FIFE = (8, 1)


def quarter_back(k: int):
    """The quarter ``k`` quarters before the latest complete one."""
    return quarter_of(LATEST.first - 3 * k)


@pytest.fixture
def data(session):
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(
        session, Role.CUSTODY, email="c@t.example", custody_suite=suite(session, "GLA-LR")
    )
    make_user(session, Role.LEAD, email="lead@t.example", areas=[council(session, "Glasgow City")])
    make_user(session, Role.ADMIN, email="admin@t.example")

    def refer(name, day, converted):
        make_referral(
            session,
            service=service,
            referrer=custody,
            referred_on=day,
            council_name=name,
            status="treatment_started" if converted else "accepted",
            accepted_on=day + dt.timedelta(days=1),
            engaged_on=day + dt.timedelta(days=3) if converted else None,
            treatment_started_on=day + dt.timedelta(days=12) if converted else None,
            flush=False,
        )

    with session.no_autoflush:  # one write for them all
        for k, converted in enumerate(reversed(GLASGOW_CONVERTED)):
            day = quarter_back(k).start + dt.timedelta(days=20)
            for j in range(60):
                refer("Glasgow City", day, j < converted)
            for name, (made, converted_there) in (
                ("City of Edinburgh", EDINBURGH),
                ("Fife", FIFE),
            ):
                for j in range(made):
                    refer(name, day, j < converted_there)
    session.commit()
    return {"service": service}


def snapshot(app):
    with app.app_context():
        return current(app.extensions["sqlalchemy"].session, settings(TODAY))


def glasgow_division_quarters(client):
    html = client.get(f"/reports/pack?quarter={LATEST.code}&area=police_division:G")
    assert html.status_code == 200
    return html.get_data(as_text=True)


def test_trend_chart_marks_significant_changes_and_gaps_with_reasons():
    national = {"conversion_rate": [300, 1000], "referrals": 1000}
    periods, rows = [], []
    for k, (entry) in enumerate(
        [
            {"conversion_rate": [15, 60], "referrals": 60},
            {"conversion_rate": [18, 60], "referrals": 60},
            {"conversion_rate": "[c]", "referrals": 60},
            {"conversion_rate": [40, 60], "referrals": 60},
            {"conversion_rate": [36, 60], "referrals": 60},
        ]
    ):
        q = quarter_back(4 - k)
        period = {"code": q.code, "kind": "quarter", "first": q.first, "last": q.last}
        periods.append(period)
        rows.append((period, make_row("a", "a", "Area", entry, national), None))
    chart = trend_chart(rows, "conversion_rate", "Conversion", area_name="Area", target=0.5)
    points = chart.points
    assert [p.area.text for p in points] == ["25.0%", "30.0%", "[c]", "66.7%", "60.0%"]
    # The hidden quarter is a gap with its reason, and the line breaks there.
    assert points[2].y is None and "cannot be worked out" in points[2].area.gap
    assert len(chart.area_path) == 2
    # Only adjacent published quarters are tested: not across the gap.
    assert [p.change for p in points] == [None, 0, None, None, 0]
    assert changed(18, 60, 40, 60) == 1  # would have been marked without the gap
    # Intervals are the published Wilson intervals, rounded as the tables round them.
    # Wilson, 15 of 60: (33.84 -/+ 13.70) / 127.68.
    assert points[0].area.interval_text == "15.8 to 37.2%"
    assert points[0].low_y > points[0].y > points[0].high_y
    assert chart.target_y is not None and chart.target_text == "50%"
    # Screen readers hear the gap and its reason from the chart's description.
    assert "not shown (hidden so that another figure cannot be worked out)" in (chart.description)


def test_trends_page_draws_charts_with_a_table_alternative(client, data):
    sign_in(client, "lead@t.example")
    html = client.get(
        "/reports/trends?group=police_division&area=G&measure=conversion_rate"
    ).get_data(as_text=True)
    assert html.count('class="trend-plot"') == 3
    assert "Conversion rate by quarter: Greater Glasgow and Scotland" in html
    assert "The chart&#39;s figures as a table" in html or "figures as a table" in html
    # Glasgow's rise into the third quarter is marked, in the chart and in the table.
    assert "Significantly higher than the period before" in html
    assert "trend-change" in html


def test_pack_figures_equal_the_published_ones(app, client, data, session):
    sign_in(client, "lead@t.example")
    html = glasgow_division_quarters(client)
    figures = snapshot(app)
    year = figures.settings["latest_for"]["conversion_rate"]
    published = figures.part("area", year)["police_division:G"]["conversion_rate"]
    quarter = figures.part("area", LATEST.code)["police_division:G"]
    assert "Greater Glasgow: arrest referral outcomes" in html
    for measure in MEASURES.values():
        assert measure.label in html
    x, n = published
    assert f"{percent_half_up(x, n)}%" in html
    assert quarter["referrals"] == 60
    for value in quarter.values():  # the quarter's rates published so far
        if isinstance(value, list) and len(value) == 2:
            assert f"{percent_half_up(*value)}%" in html
    assert "No target set" in html
    with app.app_context():
        pack = build_pack(
            app.extensions["sqlalchemy"].session,
            figures,
            "police_division",
            "G",
            quarters(figures)[0],
        )
    line = next(line for line in pack.lines if line.measure.code == "conversion_rate")
    assert line.year.x == x and line.year.n == n
    published = [p.area.x for p in line.chart.points if p.area.x is not None]
    assert len(published) >= 4
    assert published == list(GLASGOW_CONVERTED[: len(published)])


def test_pack_shows_target_status_in_words(client, data, session):
    period = quarter_back(0)
    session.add(
        Target(
            geography="police_division",
            area_code="G",
            measure="conversion_rate",
            period_start=period.start - dt.timedelta(days=365),
            period_end=period.end,
            value=0.9,
        )
    )
    session.commit()
    sign_in(client, "lead@t.example")
    html = glasgow_division_quarters(client)
    assert "Red: target missed" in html and "against a target of at least 90%" in html
    assert "Target 90%" in html  # drawn on the trend chart


def test_small_areas_keep_their_figures_hidden_in_the_pack_and_its_pdf(client, data):
    sign_in(client, "lead@t.example")
    page = client.get(f"/reports/pack?quarter={LATEST.code}&area=adp:ADP-FI")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Fife ADP" in html
    assert "&lt;5" in html and "12.5%" not in html
    assert "Figures not shown in this pack, and why:" in html
    pdf = client.get(f"/reports/pack.pdf?quarter={LATEST.code}&area=adp:ADP-FI")
    text = pdf_text(pdf.data)
    assert "Fife ADP" in text and "<5" in text and "12.5%" not in text


def pdf_text(data: bytes) -> str:
    from pypdf import PdfReader

    assert data.startswith(b"%PDF")
    reader = PdfReader(io.BytesIO(data))
    return "\n".join(page.extract_text() for page in reader.pages)


def test_pack_pdf_is_a_real_pdf_with_the_areas_figures(app, client, data, session):
    from pypdf import PdfReader

    sign_in(client, "lead@t.example")
    response = client.get(f"/reports/pack.pdf?quarter={LATEST.code}&area=police_division:G")
    assert response.status_code == 200
    assert response.mimetype == "application/pdf"
    assert "attachment" in response.headers["Content-Disposition"]
    assert len(PdfReader(io.BytesIO(response.data)).pages) >= 3
    text = pdf_text(response.data)
    figures = snapshot(app)
    year = figures.settings["latest_for"]["conversion_rate"]
    x, n = figures.part("area", year)["police_division:G"]["conversion_rate"]
    assert "Greater Glasgow" in text and LATEST.code in text
    assert f"{percent_half_up(x, n)}%" in text
    assert "Definitions and caveats" in text and "Page 1 of" in text
    assert session.scalar(sa.select(sa.func.count()).where(AuditEvent.object_id == "pack.pdf"))


def test_a_packs_pdf_is_made_once_and_read_back_for_the_next_download(
    client, data, session, monkeypatch
):
    """Laying a PDF out takes seconds: the same pack downloaded again (by anyone who may
    open it, on any server) is the copy kept in the database; another pack is made."""
    from referrals.reports import pdf_copies

    made, make = [], pdf_copies.html_to_pdf

    def counted(html, stylesheets):
        made.append(html)
        return make(html, stylesheets)

    monkeypatch.setattr(pdf_copies, "html_to_pdf", counted)
    long_ago = utcnow() - dt.timedelta(days=50)
    old = pdf_copies.PdfCopy(key="0" * 64, pdf=b"%PDF old", made_at=long_ago)
    session.add(old)
    session.commit()
    sign_in(client, "lead@t.example")
    url = f"/reports/pack.pdf?quarter={LATEST.code}&area=police_division:G"
    first, second = client.get(url), client.get(url)
    assert first.status_code == second.status_code == 200
    assert first.data == second.data and "Greater Glasgow" in pdf_text(second.data)
    assert len(made) == 1
    assert client.get(url.replace("police_division:G", "adp:ADP-FI")).status_code == 200
    assert len(made) == 2
    # Two copies kept; the one made 50 days ago was cleared when the first was made.
    keys = set(session.scalars(sa.select(pdf_copies.PdfCopy.key)))
    assert len(keys) == 2 and "0" * 64 not in keys
    # Both downloads are audited, the one read back too.
    exports = sa.select(sa.func.count()).where(AuditEvent.object_id == "pack.pdf")
    assert session.scalar(exports) == 3


def test_scotland_pack_is_the_spa_paper(client, data):
    sign_in(client, "admin@t.example")
    html = client.get(f"/reports/pack?quarter={LATEST.code}&area=national").get_data(as_text=True)
    assert "Paper for the police authority" in html
    assert "Naloxone kits supplied in custody" in html
    assert "Compared with Scotland</th>" not in html


def test_pack_opens_on_the_leads_division_and_refuses_unknown_choices(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/pack").get_data(as_text=True)
    assert "Greater Glasgow: arrest referral outcomes" in html
    assert client.get("/reports/pack?area=police_division:NOPE").status_code == 400
    page = client.get("/reports/pack?quarter=2026Q5")
    assert page.status_code == 400 and "Choose a quarter from the list." in page.get_data(
        as_text=True
    )
    assert client.get("/reports/pack.pdf?area=council:S12000049").status_code == 400
    # A pack as published on a kept day, and a day with nothing kept.
    kept = client.get(f"/reports/pack?as_of={TODAY.isoformat()}&area=national")
    assert kept.status_code == 200 and "Scotland: arrest referral outcomes" in kept.get_data(
        as_text=True
    )
    assert client.get("/reports/pack?as_of=2001-01-01").status_code == 400


@pytest.mark.parametrize(("who", "status"), [(None, 302), ("c@t.example", 403)])
def test_only_report_users_get_the_pack(client, data, who, status):
    if who:
        sign_in(client, who)
    assert client.get("/reports/pack").status_code == status
    assert client.get("/reports/pack.pdf").status_code == status


def test_quarterly_report_lets_the_reader_choose_measure_and_areas(client, data):
    sign_in(client, "lead@t.example")
    html = client.get(
        f"/reports/quarterly?quarter={LATEST.code}&group=police_division&measure=engagement_rate"
    ).get_data(as_text=True)
    assert "2. Police divisions: 12 months to" in html
    assert '<th scope="col">Police division</th>' in html
    assert '<option value="police_division" selected>' in html
    assert '<option value="engagement_rate" selected>' in html
    assert "Engagement rate by quarter: Scotland" in html and 'class="trend-plot"' in html
    assert "Greater Glasgow" in html
    assert "Tile map of engagement rate by police division" in html
    for bad in ("group=street", "measure=favourite_colour"):
        page = client.get(f"/reports/quarterly?quarter={LATEST.code}&{bad}")
        assert page.status_code == 400
        assert "from the list" in page.get_data(as_text=True)


def test_definitions_say_how_a_significant_change_is_tested(client, data):
    sign_in(client, "lead@t.example")
    html = client.get("/reports/definitions").get_data(as_text=True)
    assert "Significant changes on trend charts" in html
    assert "two-proportion z-test at 95%" in html and "±1.96" in html


def test_pack_before_any_quarter_says_so(client, session):
    make_user(session, Role.ADMIN, email="admin@t.example")
    session.commit()
    sign_in(client, "admin@t.example")
    page = client.get("/reports/pack")
    assert page.status_code == 200
    assert "There are no figures for any quarter yet" in page.get_data(as_text=True)
    assert client.get("/reports/pack.pdf").status_code == 400


def test_a_scheme_has_its_pack(client, data, session):
    from referrals.schemes.models import Scheme

    session.add(
        Scheme(
            code="GG-ARS",
            name="Greater Glasgow Arrest Referral Scheme",
            organisation_id=data["service"].organisation_id,
            suites=[suite(session, "GLA-LR")],
        )
    )
    session.commit()
    sign_in(client, "lead@t.example")
    page = client.get(f"/reports/pack?quarter={LATEST.code}&area=scheme:GG-ARS")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Greater Glasgow Arrest Referral Scheme: arrest referral outcomes" in html
    assert '<option value="scheme:GG-ARS" selected>' in html


def test_a_hidden_count_says_why_it_is_not_drawn():
    from referrals.reports.readings import reading

    row = make_row("a", "a", "Area", {"referrals": "[c]", "near_fatal_overdose": "<5"}, {})
    assert "cannot be worked out" in reading(row, "referrals").gap
    assert reading(row, "near_fatal_overdose").gap == "small numbers"
