"""Services from CSV (all or nothing, by line), back to CSV, and full postcodes."""

import csv
import io

import sqlalchemy as sa

from referrals.choices import Role
from referrals.directory.exchange import COLUMNS
from referrals.models import AuditEvent, Location, Organisation, Postcode, Service

from .factories import make_service, make_user
from .test_auth import sign_in

GOOD = {
    "external_id": "ext-1",
    "organisation": "Import Trust",
    "name": "Imported Service",
    "types": "ost;naloxone",
    "address_1": "1 Import Street",
    "town": "Glasgow",
    "postcode": "G31 2AB",
    "phone": "0141 496 0101",
    "website": "https://import.example/",
    "email": "hello@import.example",
    "opening_hours": "Mon-Fri 09:00-17:00",
    "areas_served": "S12000049",
    "same_day_access": "yes",
}


def csv_file(rows, columns=None):
    columns = columns or list(GOOD)
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=columns)
    writer.writeheader()
    for row in rows:
        writer.writerow({k: row.get(k, "") for k in columns})
    return out.getvalue()


def write(tmp_path, text, name="services.csv"):
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def upload_services(client, file, name="services.csv", **options):
    """Post ``file`` (a binary stream) on the admin upload page."""
    return client.post(
        "/admin/imports/services",
        data={"file": (file, name)},
        content_type="multipart/form-data",
        **options,
    )


def count(session, model):
    return session.scalar(sa.select(sa.func.count()).select_from(model))


def test_import_creates_services(runner, session, tmp_path):
    rows = [
        GOOD,
        {
            **GOOD,
            "external_id": "ext-2",
            "name": "Second",
            "postcode": "EH6 4AB",
            "town": "Leith",
            "areas_served": "",
            "types": "iep",
        },
    ]
    result = runner.invoke(args=["import-services", write(tmp_path, csv_file(rows))])
    assert result.exit_code == 0, result.output
    assert "Imported 2 rows: 2 services created, 0 updated." in result.output
    first = session.scalar(sa.select(Service).where(Service.external_id == "ext-1"))
    assert first.organisation.name == "Import Trust"
    assert [t.code for t in first.types] == ["ost", "naloxone"]
    assert first.same_day_access and len(first.opening_hours) == 5
    assert first.locations[0].council_area.name == "Glasgow City"
    second = session.scalar(sa.select(Service).where(Service.external_id == "ext-2"))
    assert [a.name for a in second.areas_served] == ["City of Edinburgh"]
    assert session.scalar(sa.select(AuditEvent.action)) == "services_imported"


def test_mixed_good_and_bad_rows_import_nothing_and_name_each_bad_line(runner, session, tmp_path):
    rows = [
        GOOD,  # line 2: good
        {**GOOD, "external_id": "ext-3", "types": "ost;magic"},  # line 3
        {**GOOD, "external_id": "ext-4", "postcode": "NOT A PC"},  # line 4
        {**GOOD, "external_id": "ext-5", "phone": "ring us"},  # line 5
        {**GOOD, "external_id": "ext-6", "website": "ftp://x"},  # line 6
        {**GOOD, "external_id": "ext-7", "opening_hours": "Mon 9 to 5"},  # line 7
        {**GOOD, "external_id": "ext-8", "name": ""},  # line 8
        {**GOOD, "external_id": "ext-9", "postcode": "ZZ1 1ZZ"},  # line 9
        {**GOOD, "external_id": "ext-10", "email": "nobody"},  # line 10
        {**GOOD, "external_id": "ext-11"},  # line 11: good
    ]
    result = runner.invoke(args=["import-services", write(tmp_path, csv_file(rows))])
    assert result.exit_code == 1
    output = result.output
    assert "Nothing was imported: 8 problem(s)" in output
    for line, text in [
        (3, "unknown service type “magic”"),
        (4, "postcode “NOT A PC” is not a UK postcode"),
        (5, "phone “ring us”"),
        (6, "website “ftp://x”: Enter a web address starting https://"),
        (7, "opening_hours:"),
        (8, "name is missing"),
        (9, "postcode ZZ1 1ZZ is not in the postcode tables"),
        (10, "email “nobody” is not an email address"),
    ]:
        assert f"line {line}: {text}" in output, (line, output)
    assert "line 2:" not in output and "line 11:" not in output
    assert count(session, Service) == 0 and count(session, Organisation) == 0


def test_reimport_updates_instead_of_duplicating(runner, session, tmp_path):
    path = write(tmp_path, csv_file([GOOD]))
    runner.invoke(args=["import-services", path])
    again = runner.invoke(args=["import-services", path])
    assert "0 services created, 1 updated" in again.output
    assert count(session, Service) == 1 and count(session, Location) == 1
    changed = write(tmp_path, csv_file([{**GOOD, "name": "Renamed"}]), "changed.csv")
    runner.invoke(args=["import-services", changed])
    session.expire_all()
    assert session.scalar(sa.select(Service.name)) == "Renamed"
    assert count(session, Service) == 1


def test_a_location_keeps_its_id_however_the_file_orders_the_listings_rows(
    runner, session, tmp_path
):
    """Systems reading the API hold location ids; a file listing the same two places in
    the other order gave each place the other's id (and a new place took an old id)."""
    east = {**GOOD, "address_1": "2 East Road", "postcode": "G31 2AB"}
    west = {**GOOD, "address_1": "9 West Street", "postcode": "G11 5QR", "town": "Glasgow"}
    runner.invoke(args=["import-services", write(tmp_path, csv_file([east, west]))])
    ids = {loc.address_1: loc.uuid for loc in session.scalars(sa.select(Location))}
    assert set(ids) == {"2 East Road", "9 West Street"}
    swapped = write(tmp_path, csv_file([west, east]), "swapped.csv")
    result = runner.invoke(args=["import-services", swapped])
    assert "0 services created, 1 updated" in result.output, result.output
    session.expire_all()
    assert {loc.address_1: loc.uuid for loc in session.scalars(sa.select(Location))} == ids


def test_dry_run_saves_nothing(runner, session, tmp_path):
    result = runner.invoke(
        args=["import-services", "--dry-run", write(tmp_path, csv_file([GOOD]))]
    )
    assert "All 1 rows are good (dry run: nothing saved)." in result.output
    assert count(session, Service) == 0


def test_unknown_and_missing_columns_are_reported(runner, tmp_path):
    result = runner.invoke(args=["import-services", write(tmp_path, "name,colour\nx,red\n")])
    assert "line 1: the header is missing column(s): external_id, organisation" in result.output


def test_export_then_import_round_trips(client, runner, session, tmp_path):
    service = make_service(
        session,
        name="Round Trip",
        phone="+44 141 496 0000",
        alert='=HYPERLINK("http://evil")',
        external_id="rt-1",
        hours=[(0, "09:00", "17:00"), (4, "20:00", "02:00")],
    )
    session.commit()
    exported = client.get("/services.csv").get_data(as_text=True)
    rows = list(csv.DictReader(io.StringIO(exported)))
    assert list(rows[0]) == COLUMNS
    assert rows[0]["alert"].startswith("'=")  # defused for spreadsheets
    # "+44 ..." would be a formula too: it is shown as text, and read back as typed
    assert rows[0]["phone"] == "'+44 141 496 0000"
    session.delete(service)
    session.commit()
    result = runner.invoke(args=["import-services", write(tmp_path, exported)])
    assert result.exit_code == 0, result.output
    again = session.scalar(sa.select(Service).where(Service.external_id == "rt-1"))
    assert again.name == "Round Trip" and again.alert == '=HYPERLINK("http://evil")'
    assert again.phone == "+44 141 496 0000"
    assert [(h.weekday, str(h.opens), str(h.closes)) for h in again.opening_hours] == [
        (0, "09:00:00", "17:00:00"),
        (4, "20:00:00", "02:00:00"),
    ]


def test_admin_upload_page_imports_all_or_nothing(client, session):
    make_user(session, Role.ADMIN, email="a@test.example")
    session.commit()
    sign_in(client, "a@test.example")
    bad = csv_file([GOOD, {**GOOD, "external_id": "x2", "types": "magic"}])
    response = upload_services(client, io.BytesIO(bad.encode()))
    html = response.get_data(as_text=True)
    assert response.status_code == 400 and "Line 3" in html and "magic" in html
    assert count(session, Service) == 0
    good = csv_file([GOOD])
    response = upload_services(client, io.BytesIO(good.encode()), follow_redirects=True)
    assert "1 services created" in response.get_data(as_text=True)
    assert count(session, Service) == 1


def test_a_file_saved_from_excel_in_windows_encoding_is_refused_with_how_to_save_it(
    client, session
):
    """Excel's plain "CSV (Comma delimited)" is Windows-1252. A small file is decoded
    whole as its header is read, a large one a part at a time: either way, a message
    and nothing saved."""
    make_user(session, Role.ADMIN, email="a@test.example")
    session.commit()
    sign_in(client, "a@test.example")
    for rows in ([{**GOOD, "name": "Café"}], [GOOD] * 200 + [{**GOOD, "name": "Café"}]):
        response = upload_services(client, io.BytesIO(csv_file(rows).encode("cp1252")))
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "not UTF-8 text" in html and "CSV UTF-8 (Comma delimited)" in html
    assert count(session, Service) == 0


def test_an_organisation_or_id_too_long_to_keep_is_refused_by_line(client, session):
    """PostgreSQL would refuse them when saving (a server error); SQLite would keep them."""
    make_user(session, Role.ADMIN, email="a@test.example")
    session.commit()
    sign_in(client, "a@test.example")
    rows = [{**GOOD, "organisation": "O" * 201}, {**GOOD, "external_id": "x" * 81}]
    response = upload_services(client, io.BytesIO(csv_file(rows).encode()))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "organisation is longer than 200 characters" in html
    assert "external_id is longer than 80 characters" in html
    assert count(session, Service) == 0 and count(session, Organisation) == 0


ONSPD_HEADER = "pcd,pcd2,pcds,dointr,doterm,oslaua,laua,lat,long\n"


def test_import_postcodes_from_an_onspd_extract(runner, session, tmp_path):
    text = ONSPD_HEADER + "".join(
        [
            "G312AB ,G31  2AB,G31 2AB,199801,,S12000049,S12000049,55.856,-4.210\n",
            "EH6 4AB,EH6  4AB,EH6 4AB,199801,,S12000036,S12000036,55.975,-3.172\n",
            # terminated, then no position:
            "G1 9ZZ ,G1   9ZZ,G1 9ZZ,199801,200312,S12000049,S12000049,55.86,-4.25\n",
            "ZE1 0AA,ZE1  0AA,ZE1 0AA,199801,,S12000027,S12000027,99.999999,0.000000\n",
            "XXXXX,XXXXX,XXXXX,199801,,S12000049,S12000049,55.8,-4.2\n",  # malformed
            "SW1A1AA,SW1A 1AA,SW1A 1AA,199801,,E09000033,E09000033,51.501,-0.142\n",  # England
        ]
    )
    result = runner.invoke(args=["import-postcodes", write(tmp_path, text, "onspd.csv")])
    assert result.exit_code == 0, result.output
    assert "Loaded 3 postcodes from 6 rows" in result.output
    assert "Skipped 1 terminated" in result.output
    assert "Skipped 1 rows with no position" in result.output
    assert "Skipped 1 malformed postcodes (lines 6...)" in result.output
    g31 = session.get(Postcode, "G31 2AB")
    assert (g31.latitude, g31.longitude) == (55.856, -4.21)
    assert g31.council_area_id is not None
    assert session.get(Postcode, "SW1A 1AA").council_area_id is None
    # Loading again updates in place.
    text2 = ONSPD_HEADER + "G312AB ,G31  2AB,G31 2AB,199801,,S12000049,S12000049,55.857,-4.211\n"
    runner.invoke(args=["import-postcodes", write(tmp_path, text2, "again.csv")])
    session.expire_all()
    assert session.get(Postcode, "G31 2AB").latitude == 55.857
    assert count(session, Postcode) == 3


def test_import_postcodes_with_named_columns(runner, session, tmp_path):
    text = "code,y,x,gss\nKY1 1AA,56.11,-3.16,S12000047\n"
    bad = runner.invoke(args=["import-postcodes", write(tmp_path, text)])
    assert bad.exit_code != 0 and "no postcode column found" in bad.output
    result = runner.invoke(
        args=[
            "import-postcodes",
            write(tmp_path, text),
            "--postcode-column",
            "code",
            "--latitude-column",
            "y",
            "--longitude-column",
            "x",
            "--council-column",
            "gss",
        ]
    )
    assert "Loaded 1 postcodes" in result.output
    assert session.get(Postcode, "KY1 1AA").council_area_id is not None


def test_text_starting_with_an_apostrophe_survives_export_and_import(client, session):
    """The CSV guards formulas with an apostrophe and drops it on the way back in: text
    that itself starts with an apostrophe before a formula character comes back whole."""
    from referrals.models import Service

    from .factories import make_service, make_user

    service = make_service(session, description="'-10% off' said the sign")
    admin = make_user(session, Role.ADMIN)
    session.commit()
    sign_in(client, admin.email)
    exported = client.get("/services.csv").get_data()
    assert upload_services(client, io.BytesIO(exported)).status_code == 302
    session.expire_all()
    assert session.get(Service, service.id).description == "'-10% off' said the sign"
