"""Administrators keep the geography right: council areas and the groups they belong to."""

import datetime as dt
import json
import threading

import pytest
import sqlalchemy as sa

from referrals.admin.area_edits import CouncilValues, save_council
from referrals.areacodes import council_ids
from referrals.choices import AreaGroupKind, Role
from referrals.extensions import db
from referrals.models import (
    AreaGroup,
    AreaTile,
    AuditEvent,
    CouncilArea,
    PostcodeDistrict,
    Target,
    utcnow,
)
from referrals.reports import figures
from referrals.reports.params import settings
from referrals.reports.snapshot import ReportPart, rebuild
from referrals.seed.reference import load_reference

from .factories import (
    council,
    make_organisation,
    make_referral,
    make_service,
    make_user,
    suite,
)
from .test_auth import sign_in


@pytest.fixture
def admin_client(client, session):
    make_user(session, Role.ADMIN, email="admin@t.example")
    make_user(session, Role.LEAD, email="lead@t.example", areas=[council(session, "Fife")])
    session.commit()
    sign_in(client, "admin@t.example")
    return client


def group(session, kind, name) -> AreaGroup:
    return session.scalar(
        sa.select(AreaGroup).where(AreaGroup.kind == kind, AreaGroup.name == name)
    )


def form_for(area: CouncilArea, **changes) -> dict:
    data = {
        "name": area.name,
        "code": area.code,
        "adp_id": str(area.adp_id),
        "police_division_id": str(area.police_division_id),
        "health_board_id": str(area.health_board_id),
        "population": "" if area.population is None else str(area.population),
        "latitude": str(area.latitude),
        "longitude": str(area.longitude),
    }
    data.update(changes)
    return data


def test_the_areas_page_lists_every_council_with_its_groups_and_population(admin_client, session):
    assert "Areas" in admin_client.get("/admin/").get_data(as_text=True)
    html = admin_client.get("/admin/areas").get_data(as_text=True)
    assert "Council areas (32)" in html
    assert "Alcohol and Drug Partnerships (30)" in html
    assert "Police divisions (13)" in html and "Health boards (14)" in html
    fife = council(session, "Fife")
    row = html[html.index(">Fife</a>") :]
    row = row[: row.index("</tr>")]
    assert fife.code in row and fife.adp.name in row and fife.health_board.name in row
    assert f"{fife.population:,}" in row
    assert html.count('class="table-wrap"') == 4


def test_only_administrators_see_the_areas(client, session, admin_client):
    client.post("/logout")
    sign_in(client, "lead@t.example")
    assert client.get("/admin/areas").status_code == 403
    fife = council(session, "Fife")
    assert client.post(f"/admin/areas/{fife.id}", data=form_for(fife, name="X")).status_code == 403
    assert council(session, "Fife") is not None


def test_an_administrator_corrects_a_population_and_moves_a_council_to_another_adp(
    admin_client, session
):
    fife = council(session, "Fife")
    other_adp = group(session, AreaGroupKind.ADP, "Dundee ADP")
    response = admin_client.post(
        f"/admin/areas/{fife.id}",
        data=form_for(fife, population="374,000".replace(",", ""), adp_id=str(other_adp.id)),
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    session.expire_all()
    fife = council(session, "Fife")
    assert fife.population == 374_000 and fife.adp_id == other_adp.id
    assert fife.edited_at is not None
    event = session.scalar(sa.select(AuditEvent).where(AuditEvent.action == "area_updated"))
    assert event.object_type == "council_areas" and event.object_id == str(fife.id)
    detail = json.loads(event.detail)
    assert set(detail) == {"population", "adp_id"}
    assert detail["population"][1] == "374000"
    page = admin_client.get("/admin/areas").get_data(as_text=True)
    assert "374,000" in page and "Saved Fife" in page


def test_a_new_code_takes_the_areas_targets_and_tile_with_it(admin_client, session):
    fife = council(session, "Fife")
    session.add(
        Target(
            geography="council",
            area_code=fife.code,
            measure="engagement_rate",
            period_start=dt.date(2026, 4, 1),
            period_end=dt.date(2027, 3, 31),
            value=0.6,
        )
    )
    session.commit()
    old = fife.code
    tile = session.scalar(sa.select(AreaTile).where(AreaTile.code == old))
    place = (tile.level, tile.short_name, tile.col, tile.row)
    response = admin_client.post(f"/admin/areas/{fife.id}", data=form_for(fife, code="S12000099"))
    assert response.status_code == 302
    session.expire_all()
    assert session.scalar(sa.select(Target.area_code)) == "S12000099"
    # Its tile on the tile map keeps its place (and short name) under the new code.
    tile = session.scalar(sa.select(AreaTile).where(AreaTile.code == "S12000099"))
    assert (tile.level, tile.short_name, tile.col, tile.row) == place
    assert session.scalar(sa.select(AreaTile).where(AreaTile.code == old)) is None
    detail = json.loads(
        session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == "area_updated"))
    )
    assert detail["code"] == [old, "S12000099"] and detail["targets_moved"] == 1


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": ""}, "name", "Enter the council area&#39;s name."),
        ({"code": "S12000036"}, "code", "Another area already has the code S12000036."),
        ({"code": "s12000036"}, "code", "Another area already has the code s12000036."),
        ({"code": "S12 000"}, "code", "Use only letters, numbers, hyphens and underscores"),
        ({"population": "lots"}, "population", "Enter a whole number, like 25."),
        ({"population": "-5"}, "population", "Enter a population from 0 to 100,000,000."),
        ({"latitude": "91"}, "latitude", "Enter a latitude from -90 to 90."),
        ({"longitude": ""}, "longitude", "Enter the longitude, like -4.2518."),
        ({"adp_id": ""}, "adp_id", "Choose the Alcohol and Drug Partnership."),
        ({"health_board_id": "PD"}, "health_board_id", "Choose the health board from the list."),
    ],
)
def test_bad_area_changes_are_refused_with_a_clear_message_and_nothing_saved(
    admin_client, session, changes, field, message
):
    fife = council(session, "Fife")
    if changes.get("health_board_id") == "PD":  # a police division offered as a health board
        changes = {"health_board_id": str(fife.police_division_id)}
    before = (fife.name, fife.code, fife.population, fife.adp_id, fife.health_board_id)
    response = admin_client.post(f"/admin/areas/{fife.id}", data=form_for(fife, **changes))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert f'<a href="#{field}">' in html
    session.expire_all()
    fife = council(session, "Fife")
    assert (fife.name, fife.code, fife.population, fife.adp_id, fife.health_board_id) == before
    assert fife.edited_at is None
    assert not session.scalar(
        sa.select(sa.func.count())
        .select_from(AuditEvent)
        .where(AuditEvent.action == "area_updated")
    )


def test_an_administrator_adds_a_council_area_to_an_existing_board(admin_client, session):
    fife = council(session, "Fife")
    page = admin_client.get("/admin/areas/new").get_data(as_text=True)
    assert "Choose the police division" in page
    data = form_for(fife, name="Kingdom North", code="S12000100", population="")
    assert admin_client.post("/admin/areas/new", data=data).status_code == 302
    added = council(session, "Kingdom North")
    assert added.code == "S12000100" and added.population is None
    assert added.health_board_id == fife.health_board_id
    assert "area_created" in session.scalars(sa.select(AuditEvent.action)).all()


def test_an_administrator_renames_a_police_division_and_adds_an_adp(admin_client, session):
    division = group(session, AreaGroupKind.POLICE_DIVISION, "Fife")
    response = admin_client.post(
        f"/admin/areas/groups/{division.id}",
        data={"kind": "adp", "name": "Fife and Kinross", "code": division.code},
    )
    assert response.status_code == 302
    session.expire_all()
    division = session.get(AreaGroup, division.id)
    assert division.name == "Fife and Kinross"
    assert division.kind == AreaGroupKind.POLICE_DIVISION  # the kind never changes
    response = admin_client.post(
        "/admin/areas/groups/new", data={"kind": "adp", "name": "New ADP", "code": "ADP-NEW"}
    )
    assert response.status_code == 302
    assert group(session, AreaGroupKind.ADP, "New ADP").code == "ADP-NEW"
    clash = admin_client.post(
        "/admin/areas/groups/new", data={"kind": "adp", "name": "Again", "code": "adp-new"}
    )
    assert clash.status_code == 400
    assert "Another area already has the code adp-new." in clash.get_data(as_text=True)
    actions = session.scalars(sa.select(AuditEvent.action)).all()
    assert actions.count("area_group_updated") == 1 and actions.count("area_group_created") == 1


def test_loading_the_reference_files_again_keeps_what_an_administrator_edited(
    admin_client, session, app
):
    fife = council(session, "Fife")
    admin_client.post(f"/admin/areas/{fife.id}", data=form_for(fife, population="1"))
    with app.app_context():
        report = load_reference(db.session)
        db.session.commit()
    assert "council_areas: 0 created, 0 updated, 31 unchanged, 1 kept as an administrator" in (
        "\n".join(report.lines())
    )
    session.expire_all()
    assert council(session, "Fife").population == 1


def test_an_area_given_a_new_code_is_found_again_when_the_reference_files_load(
    admin_client, session, app
):
    """The reference files are loaded at every release, and name Fife by its old code:
    Fife keeps its new code, its postcode districts, custody suites and tile, and is not
    made again as another area (nor its division, given a new code too)."""
    fife = council(session, "Fife")
    old, fife_id = fife.code, fife.id
    division = session.get(AreaGroup, fife.police_division_id)
    response = admin_client.post(f"/admin/areas/{fife.id}", data=form_for(fife, code="S12000099"))
    assert response.status_code == 302
    response = admin_client.post(
        f"/admin/areas/groups/{division.id}",
        data={"kind": "police_division", "name": division.name, "code": "PD-FIFE"},
    )
    assert response.status_code == 302
    districts = session.scalar(
        sa.select(sa.func.count())
        .select_from(PostcodeDistrict)
        .where(PostcodeDistrict.council_area_id == fife_id)
    )
    with app.app_context():
        report = load_reference(db.session)
        db.session.commit()
    lines = "\n".join(report.lines())
    assert "council_areas: 0 created" in lines and "area_groups: 0 created" in lines
    session.expire_all()
    assert session.scalar(sa.select(CouncilArea.id).where(CouncilArea.code == old)) is None
    fife = session.get(CouncilArea, fife_id)
    assert (fife.code, fife.reference_code) == ("S12000099", old)
    assert session.get(AreaGroup, division.id).code == "PD-FIFE"
    assert districts and districts == session.scalar(
        sa.select(sa.func.count())
        .select_from(PostcodeDistrict)
        .where(PostcodeDistrict.council_area_id == fife_id)
    )
    tiles = {tuple(row) for row in session.execute(sa.select(AreaTile.level, AreaTile.code))}
    assert ("council", "S12000099") in tiles and ("council", old) not in tiles
    assert ("police_division", "PD-FIFE") in tiles
    assert ("police_division", division.reference_code) not in tiles
    # Official postcode and boundary files name it by its old code too.
    ids = council_ids(session)
    assert ids[old] == ids["S12000099"] == fife_id


def test_unknown_areas_are_not_found(admin_client):
    assert admin_client.get("/admin/areas/999999").status_code == 404
    assert admin_client.get("/admin/areas/groups/999999").status_code == 404


def _row(html: str, name: str) -> str:
    row = html[html.index(f">{name}</a>") :]
    return row[: row.index("</tr>")]


def test_an_area_given_a_new_code_keeps_its_published_figures(admin_client, session, app):
    """The day's figures (and every kept day's) are stored by area code: a council and
    its ADP given new codes show the same figures that day, and on the days before."""
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    made = dt.date.today() - dt.timedelta(days=150)
    for _ in range(40):
        make_referral(
            session,
            service=service,
            referrer=custody,
            referred_on=made,
            council_name="Fife",
            status="accepted",
            accepted_on=made + dt.timedelta(days=1),
        )
    session.commit()
    yesterday = dt.date.today() - dt.timedelta(days=1)
    with app.test_request_context():
        rebuild(db.session, settings(yesterday))
    lead = app.test_client()
    sign_in(lead, "lead@t.example")
    fife = council(session, "Fife")
    adp = session.get(AreaGroup, fife.adp_id)
    pages = {
        "council": ("/reports/areas", fife.name),
        "council, a kept day": (f"/reports/areas?as_of={yesterday}", fife.name),
        "ADP": ("/reports/areas?group=adp", adp.name),
    }
    for page, name in pages.values():
        assert '<td class="num">40</td>' in _row(lead.get(page).text, name), page

    response = admin_client.post(f"/admin/areas/{fife.id}", data=form_for(fife, code="S12000099"))
    assert response.status_code == 302
    response = admin_client.post(
        f"/admin/areas/groups/{adp.id}", data={"kind": "adp", "name": adp.name, "code": "ADP-NEW"}
    )
    assert response.status_code == 302
    for what, (page, name) in pages.items():
        assert '<td class="num">40</td>' in _row(lead.get(page).text, name), what
    trends = lead.get("/reports/trends?area=S12000099&measure=referrals").text
    assert "Fife and Scotland. " in trends and f"{made.year}Q" in trends
    assert "No period here has a published figure for Fife" not in trends
    # Each audit entry says how many stored parts of published figures moved: those now
    # holding the new code (yesterday's and today's, for every period and breakdown).
    for action, key in (
        ("area_updated", "council:S12000099"),
        ("area_group_updated", "adp:ADP-NEW"),
    ):
        holding = session.scalar(
            sa.select(sa.func.count())
            .select_from(ReportPart)
            .where(ReportPart.data.contains(f'"{key}":'))
        )
        detail = json.loads(
            session.scalar(sa.select(AuditEvent.detail).where(AuditEvent.action == action))
        )
        assert holding > 2 and detail["published_figures_moved"] == holding, action


def _fife_referred_and_recoded(session) -> tuple[CouncilArea, CouncilValues]:
    """40 referrals from Fife 150 days ago, and Fife's values as an administrator saves
    them with the new code S12000099."""
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    made = dt.date.today() - dt.timedelta(days=150)
    for _ in range(40):
        make_referral(
            session, service=service, referrer=custody, referred_on=made, council_name="Fife"
        )
    session.commit()
    fife = council(session, "Fife")
    values = CouncilValues(
        **{name: getattr(fife, name) for name in CouncilValues.__dataclass_fields__}
        | {"code": "S12000099"}
    )
    return fife, values


def test_an_area_recoded_while_the_days_figures_are_worked_out_keeps_them(
    admin_client, session, app, app_factory, monkeypatch
):
    """The day's first report page works the figures out; an administrator saves a new
    code on another server meanwhile (before they are stored, so the save cannot move
    them): they are stored under the new code."""
    fife, values = _fife_referred_and_recoded(session)
    other_server, real_families, saved = app_factory(), figures.families, []

    def saved_meanwhile(reading):
        found = real_families(reading)
        if not saved:
            with other_server.app_context():
                save_council(db.session, db.session.get(CouncilArea, fife.id), values, utcnow())
                db.session.commit()
            saved.append(values.code)
        return found

    monkeypatch.setattr(figures, "families", saved_meanwhile)
    lead = app.test_client()
    sign_in(lead, "lead@t.example")
    page = lead.get("/reports/areas").text
    assert saved == ["S12000099"]
    assert '<td class="num">40</td>' in _row(page, "Fife")
    trends = lead.get("/reports/trends?area=S12000099&measure=referrals").text
    assert "No period here has a published figure for Fife" not in trends


def test_an_area_recoded_while_the_days_figures_are_stored_keeps_them(
    admin_client, session, app, app_factory, monkeypatch
):
    """An administrator on another server saves a council's new code while the day's
    first report page is working its figures out, and that save is still being written
    (its figures moved, not yet committed) when the page comes to store them: the page
    waits for the save, and the figures are stored under the new code."""
    fife, values = _fife_referred_and_recoded(session)
    other_server, real_families = app_factory(), figures.families
    written, page_done, problems = threading.Event(), threading.Event(), []

    def administrator():
        try:
            with other_server.app_context():
                save_council(db.session, db.session.get(CouncilArea, fife.id), values, utcnow())
                db.session.flush()
                written.set()
                # Committed once the page is done, or after two seconds if it waits.
                page_done.wait(2)
                db.session.commit()
        except Exception as exc:  # shown by the test below, not lost in the thread
            problems.append(exc)
            written.set()

    saver = threading.Thread(target=administrator)

    def saved_meanwhile(reading):
        found = real_families(reading)
        if not saver.is_alive() and not written.is_set():
            saver.start()
            assert written.wait(10)
        return found

    monkeypatch.setattr(figures, "families", saved_meanwhile)
    lead = app.test_client()
    sign_in(lead, "lead@t.example")
    assert lead.get("/reports/areas").status_code == 200
    page_done.set()
    saver.join(10)
    assert not problems and written.is_set()
    stored = session.scalar(
        sa.select(sa.func.count())
        .select_from(ReportPart)
        .where(ReportPart.data.contains('"council:S12000099":'))
    )
    assert stored > 0
    page = lead.get("/reports/areas").text
    assert '<td class="num">40</td>' in _row(page, "Fife")
    trends = lead.get("/reports/trends?area=S12000099&measure=referrals").text
    assert "No period here has a published figure for Fife" not in trends
