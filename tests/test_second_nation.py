"""Another nation is data, not code: the County Durham and Darlington pack (seeds/durham)
loads with seed-reference --dir, and the directory, a referral and the reports then speak
its geography (local authorities, community safety partnerships, police force area,
integrated care board), its postcode areas and its bank holidays."""

from __future__ import annotations

import datetime as dt
import re

import pytest
import sqlalchemy as sa
from flask_migrate import upgrade

from referrals import nation, workdays
from referrals.choices import Role
from referrals.extensions import db
from referrals.models import AppSetting, CouncilArea, Referral
from referrals.nation import DEMO_SETTING
from referrals.seed.reference import DEFAULT_DIRECTORY
from referrals.statement_count import counting

from .conftest import make_app
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
from .test_referrals import referral_form

PACK = DEFAULT_DIRECTORY / "durham"
OLD = dt.date.today() - dt.timedelta(days=150)


@pytest.fixture(scope="module")
def durham(tmp_path_factory):
    """A database of its own holding only the Durham pack, loaded as a deployment would,
    with a Darlington service, a custody worker and a lead, and referrals from both
    local authorities old enough to be reported."""
    url = f"sqlite:///{tmp_path_factory.mktemp('durham') / 'durham.sqlite'}"
    app = make_app(url)
    with app.app_context():
        upgrade()
        loaded = app.test_cli_runner().invoke(args=["seed-reference", "--dir", str(PACK)])
        assert loaded.exit_code == 0, loaded.output
        assert "council_areas: 2 created" in loaded.output
        again = app.test_cli_runner().invoke(args=["seed-reference", "--dir", str(PACK)])
        assert "Reference data is up to date." in again.output
        session = db.session
        service = make_service(
            session,
            organisation=make_organisation(session, "Darlington Recovery"),
            name="Darlington Recovery Hub",
            lat=54.5253,
            lon=-1.5530,
            council_name="Darlington",
            postcode="DL1 1AA",
        )
        custody = make_user(
            session,
            Role.CUSTODY,
            email="custody@durham.example",
            custody_suite=suite(session, "DAR"),
        )
        make_user(session, Role.LEAD, email="lead@durham.example")
        make_user(session, Role.ADMIN, email="admin@durham.example")
        _system, token = make_api_client(session, Role.LEAD, name="Durham analysts")
        for name, count, accepted in (("County Durham", 80, 60), ("Darlington", 40, 12)):
            for i in range(count):
                extra = {"accepted_on": OLD + dt.timedelta(days=1)} if i < accepted else {}
                make_referral(
                    session,
                    service=service,
                    referrer=custody,
                    referred_on=OLD,
                    council_name=name,
                    postcode_district="DH1" if name == "County Durham" else "DL1",
                    status="accepted" if i < accepted else "made",
                    **extra,
                )
        session.commit()
        ids = {"service": service.id, "token": token}
        db.session.remove()
    yield app, ids
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    text = response.get_data(as_text=True)
    assert "Scotland" not in text, url
    return text


def test_the_pack_loads_its_geography_and_settings(durham):
    app, _ = durham
    with app.app_context():
        councils = dict(db.session.execute(sa.select(CouncilArea.code, CouncilArea.name)).all())
        assert councils == {"E06000047": "County Durham", "E06000005": "Darlington"}
        here = nation.current()
        assert here.name == "County Durham and Darlington"
        assert here.postcode_areas == ("DH", "DL")
        assert here.label("police_division") == "Police force area"
        assert workdays.region() == "ENG"
        # The English summer bank holiday (31 August 2026) is not a working day here.
        assert not workdays.is_working_day(dt.date(2026, 8, 31))
        assert workdays.add_working_days(dt.date(2026, 8, 28), 1) == dt.date(2026, 9, 1)


def test_the_directory_finds_services_by_district_and_town(durham):
    app, _ = durham
    client = app.test_client()
    html = page(client, "/services?q=DL3")
    assert "Darlington Recovery Hub" in html and "within 25 km of DL3" in html
    html = page(client, "/services?q=Darlington")
    assert "Darlington Recovery Hub" in html
    home = page(client, "/")
    assert "For example DL1 5QD, DL1 or Bishop Auckland" in home
    search = page(client, "/services?q=DL3")
    assert "“naloxone near Bishop Auckland”" in search
    missing = page(client, "/services?q=CA1+1AA")
    assert "This directory covers County Durham and Darlington" in missing
    assert "postcodes starting DH, DL" in missing


def test_a_custody_worker_refers_someone_from_a_darlington_district(durham):
    app, ids = durham
    client = app.test_client()
    sign_in(client, "custody@durham.example")
    unknown = client.post(
        "/referrals/new", data=referral_form(ids["service"], postcode_district="G31")
    )
    assert unknown.status_code == 400
    assert (
        "the first part of the postcode, like DL1), or tick “No fixed abode” and choose the "
        "local authority." in unknown.get_data(as_text=True)
    )
    form = referral_form(ids["service"], postcode_district="dl3", person_ref="DAR/26/000042")
    response = client.post("/referrals/new", data=form)
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.app_context():
        referral = db.session.scalar(sa.select(Referral).order_by(Referral.id.desc()))
        assert referral.council_area.name == "Darlington"
        assert referral.custody_suite.code == "DAR"
        page(client, f"/referrals/{referral.id}")


@pytest.mark.parametrize(
    "group, label, areas",
    [
        ("council", "Local authority of residence", ["County Durham", "Darlington"]),
        (
            "adp",
            "Community safety partnership",
            ["Safe Durham Partnership", "Darlington Community Safety Partnership"],
        ),
        ("police_division", "Police force area", ["Durham"]),
        ("health_board", "Integrated care board", ["NHS North East and North Cumbria ICB"]),
    ],
)
def test_the_reports_speak_the_packs_geography(durham, group, label, areas):
    app, _ = durham
    client = app.test_client()
    sign_in(client, "lead@durham.example")
    table = page(client, f"/reports/areas?group={group}&measure=acceptance_rate")
    assert f'<option selected value="{group}">{label}</option>' in table or label in table
    for name in areas:
        assert name in table
    assert "County Durham and Darlington" in table  # the comparator row
    tiles = page(client, f"/reports/map?group={group}&measure=acceptance_rate")
    assert len(re.findall(r'class="tile" aria-label="', tiles)) == len(areas)
    assert "Compared with County Durham and Darlington" in tiles
    page(client, f"/reports/funnel?group={group}&measure=acceptance_rate")


def test_local_authorities_are_compared_with_the_whole_deployment(durham):
    app, _ = durham
    client = app.test_client()
    sign_in(client, "lead@durham.example")
    tiles = page(client, "/reports/map?group=council&measure=acceptance_rate")
    # 60 of 80 (75.0%) and 12 of 40 (30.0%) against 72 of 120 (60%): the 95% limits for
    # n = 80 are 60% ± 10.7 points, the 99.8% limits for n = 40 are 60% ± 23.9 points.
    assert re.search(
        r'aria-label="County Durham: acceptance rate 75.0%, higher than County '
        r'Durham and Darlington \(95%\)"',
        tiles,
    )
    assert re.search(
        r'aria-label="Darlington: acceptance rate 30.0%, lower than County '
        r'Durham and Darlington \(99.8%\)"',
        tiles,
    )
    for url in ("/reports/", "/reports/quarterly", "/reports/definitions", "/reports/targets"):
        page(client, url)
    trends = page(client, "/reports/trends?group=council&area=E06000005")
    assert "Darlington" in trends
    csv = client.get("/reports/areas.csv?group=council").get_data(as_text=True)
    assert "Darlington" in csv and "Scotland" not in csv
    definitions = client.get("/reports/definitions.csv").get_data(as_text=True)
    assert "County Durham and Darlington only" in definitions and "Scotland" not in definitions


def test_a_reports_system_reads_the_same_figures_in_the_packs_words(durham):
    app, ids = durham
    client = app.test_client()
    answer = client.get("/api/v1/reports/areas?group=council", headers=bearer(ids["token"]))
    assert answer.status_code == 200
    text = answer.get_data(as_text=True)
    assert "Darlington" in text and "Scotland" not in text
    national = client.get("/api/v1/reports/national", headers=bearer(ids["token"]))
    assert national.status_code == 200 and "Scotland" not in national.get_data(as_text=True)


def test_the_areas_page_names_the_packs_levels(durham):
    app, _ = durham
    client = app.test_client()
    sign_in(client, "admin@durham.example")
    html = page(client, "/admin/areas")
    for heading in (
        "Local authorities (2)",
        "Community safety partnerships (2)",
        "Police force areas (1)",
        "Integrated care boards (1)",
    ):
        assert heading in html
    assert "Add a local authority" in html


def test_no_code_or_template_names_the_nation():
    """The nation's name lives in its data pack only."""
    root = DEFAULT_DIRECTORY.parent
    offenders = []
    for folder, patterns in (
        ("referrals", ("*.py",)),
        ("templates", ("*.html", "*.txt")),
        ("static/js", ("*.js",)),
    ):
        for pattern in patterns:
            for path in sorted((root / folder).rglob(pattern)):
                for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
                    if "Scotland" in line:
                        offenders.append(f"{path.relative_to(root)}:{number}")
    assert offenders == []


@pytest.mark.parametrize(
    "name, text, message",
    [
        (
            "nation.csv",
            "key,value\nnational_name,Durham\nbank_holiday_region,wales-only\n",
            "nation.csv:3: bank_holiday_region must be one of scotland, england-and-wales",
        ),
        ("nation.csv", "key,value\nnational_nam,Durham\n", "nation.csv:2: unknown setting"),
        (
            "tiles.csv",
            "level,code,short_name,col,row\ncouncil,E06000047,A,0,0\ncouncil,E06000005,B,0,0\n",
            "tiles.csv:3: two council tiles at column 0, row 0",
        ),
        (
            "tiles.csv",
            "level,code,short_name,col,row\ncouncil,S12000049,Glasgow,0,0\n",
            "tiles.csv:2: S12000049 is not a known council",
        ),
    ],
)
def test_a_bad_settings_or_tiles_row_loads_nothing(durham, tmp_path, name, text, message):
    app, _ = durham
    for source in PACK.iterdir():
        (tmp_path / source.name).write_bytes(source.read_bytes())
    (tmp_path / name).write_text(text, encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["seed-reference", "--dir", str(tmp_path)])
    assert result.exit_code != 0
    assert "Nothing was loaded." in result.output and message in result.output
    with app.app_context():
        assert nation.current().name == "County Durham and Darlington"


def test_a_signed_in_page_reads_the_packs_settings_with_its_user(durham):
    """The settings come in the sign-in check's own statement, not one of their own; the
    page still speaks the pack's words, and the demo banner still follows the data."""
    app, _ = durham
    client = app.test_client()
    sign_in(client, "lead@durham.example")
    with app.app_context():
        engine = db.engine
    with counting(engine) as seen:
        text = page(client, "/reports/areas?group=council&measure=acceptance_rate")
    assert "County Durham and Darlington" in text
    reading = [sql for sql, _ in seen.sent if "nation_settings" in sql]
    assert len(reading) == 1 and "FROM users" in reading[0]
    assert "Demo data." not in text
    with app.app_context():
        db.session.add(AppSetting(key=DEMO_SETTING, value="1"))
        db.session.commit()
    assert "Demo data." in page(client, "/reports/areas?group=council&measure=acceptance_rate")
