"""Colour is never the only way the area map says how an area compares with Scotland:
areas above or below carry their symbol on the map, grey areas their words."""

from __future__ import annotations

import datetime as dt
import json
import re

import pytest

from referrals.choices import Role

from .factories import make_organisation, make_referral, make_service, make_user, suite
from .test_auth import sign_in


@pytest.fixture
def contrasting_areas(session):
    """Glasgow accepts 50 of 60 referrals, Edinburgh 10 of 60: far either side of
    Scotland's 50%. Three areas accept half; Orkney has no referrals, so its rate rests on
    fewer than 10."""
    service = make_service(session, organisation=make_organisation(session))
    custody = make_user(session, Role.CUSTODY, custody_suite=suite(session, "GLA-LR"))
    make_user(session, Role.LEAD, email="lead@t.example")
    old = dt.date.today() - dt.timedelta(days=120)
    for council_name, count, accepted in (
        ("Glasgow City", 60, 50),
        ("City of Edinburgh", 60, 10),
        ("Fife", 40, 20),
        ("Highland", 40, 20),
        ("Aberdeen City", 40, 20),
    ):
        for i in range(count):
            extra = {"accepted_on": old + dt.timedelta(days=1)} if i < accepted else {}
            make_referral(
                session,
                service=service,
                referrer=custody,
                referred_on=old,
                council_name=council_name,
                status="accepted" if i < accepted else "made",
                **extra,
            )
    session.commit()


def map_areas(client, query: str) -> dict[str, dict]:
    response = client.get(f"/reports/map/frame?{query}")
    assert response.status_code == 200
    data = re.search(r"var areas = (\[.*?\]);\n", response.get_data(as_text=True), re.S)
    return {area["name"]: area for area in json.loads(data.group(1))}


def test_areas_above_and_below_scotland_carry_their_symbol(client, contrasting_areas):
    sign_in(client, "lead@t.example")
    areas = map_areas(client, "group=council&measure=acceptance_rate")
    assert areas["Glasgow City"]["badge"] == "▲▲"
    assert areas["Fife"]["badge"] is None  # similar to Scotland
    assert areas["City of Edinburgh"]["badge"] == "▼▼"
    assert areas["Orkney Islands"]["badge"] == "Orkney Islands: fewer than 10 referrals"
    page = client.get("/reports/map?group=council&measure=acceptance_rate").get_data(as_text=True)
    assert "Areas above or below Scotland also carry their symbol (▲ or ▼)." in page


def test_a_value_scale_map_labels_only_the_grey_areas(client, contrasting_areas):
    sign_in(client, "lead@t.example")
    areas = map_areas(client, "group=council&measure=acceptance_rate&scale=sequential")
    assert areas["Glasgow City"]["badge"] is None
    assert areas["City of Edinburgh"]["badge"] is None
    assert areas["Orkney Islands"]["badge"] == "Orkney Islands: fewer than 10 referrals"
    page = client.get("/reports/map?measure=acceptance_rate&scale=sequential").get_data(
        as_text=True
    )
    assert "also carry their symbol" not in page
