"""Importing services never does more than the file says: it does not move a service to
another organisation, does not reset what the file leaves out, does not copy the listings
an export names by their id, and refuses, by line, what cannot be stored or published."""

import csv
import io

import sqlalchemy as sa

from referrals.choices import Role
from referrals.clock import today_local
from referrals.directory.exchange import REQUIRED, import_services
from referrals.models import AuditEvent, Organisation, Service

from .factories import make_organisation, make_service, make_user
from .test_auth import sign_in
from .test_directory_import import GOOD, count, csv_file, upload_services, write
from .test_directory_upkeep import edit_form

FULL = {
    **GOOD,
    "description": "Prescribing and support",
    "primary_type": "naloxone",
    "min_age": "18",
    "max_age": "65",
    "gender": "female",
    "veterans_only": "yes",
    "self_referral": "no",
    "accepts_custody_referrals": "no",
    "same_day_access": "yes",
    "referral_method": "Phone first",
    "typical_wait_days": "7",
    "status": "temporarily_closed",
    "alert": "Closed for repairs",
    "confidential_address": "yes",
    "location_name": "Back door",
    "address_2": "Unit 4",
    "latitude": "55.8601",
    "longitude": "-4.2102",
    "last_verified_on": "2025-06-30",
}
YES_NO_AND_CHOICES = [
    "gender",
    "veterans_only",
    "self_referral",
    "accepts_custody_referrals",
    "same_day_access",
    "status",
    "confidential_address",
]


def import_file(runner, tmp_path, rows, columns=None, name="services.csv"):
    path = write(tmp_path, csv_file(rows, columns), name)
    return runner.invoke(args=["import-services", path])


def listing(session, external_id="ext-1") -> dict:
    """Everything an import can set on a service, as plain values."""
    session.expire_all()
    s = session.scalar(sa.select(Service).where(Service.external_id == external_id))
    location = s.locations[0]
    return {
        "organisation": s.organisation.name,
        **{
            name: getattr(s, name)
            for name in [
                "name",
                "description",
                "min_age",
                "max_age",
                "gender",
                "veterans_only",
                "self_referral",
                "accepts_custody_referrals",
                "same_day_access",
                "phone",
                "email",
                "website",
                "referral_method",
                "typical_wait_days",
                "status",
                "alert",
                "confidential_address",
                "last_verified_on",
            ]
        },
        "types": [t.code for t in s.types],
        "primary_type": s.primary_type.code,
        "hours": [(h.weekday, h.opens, h.closes) for h in s.opening_hours],
        "areas": [a.code for a in s.areas_served],
        "location": (
            location.name,
            location.address_1,
            location.address_2,
            location.town,
            location.postcode,
            location.latitude,
            location.longitude,
            location.council_area_id,
        ),
    }


def sign_in_admin(client, session):
    make_user(session, Role.ADMIN, email="a@test.example")
    session.commit()
    sign_in(client, "a@test.example")


# An existing service stays with its organisation.


def test_a_row_naming_another_organisation_is_refused_and_the_service_stays_where_it_was(
    client, session
):
    """Its past referrals, with people's details, go wherever the service goes."""
    sign_in_admin(client, session)
    upload_services(client, io.BytesIO(csv_file([GOOD]).encode()))
    make_organisation(session, "Other Trust")
    session.commit()
    rows = [
        {**GOOD, "organisation": "Other Trust"},
        {**GOOD, "organisation": "Brand New Trust", "external_id": "ext-1"},
    ]
    for row in rows:
        response = upload_services(client, io.BytesIO(csv_file([row]).encode()))
        html = response.get_data(as_text=True)
        assert response.status_code == 400
        assert "Line 2" in html and "belongs to Import Trust" in html, html
        assert "ask the administrators" in html
    session.expire_all()
    service = session.scalar(sa.select(Service))
    assert service.organisation.name == "Import Trust"
    assert count(session, Organisation) == 2  # no "Brand New Trust"


def test_organisation_names_differing_only_in_case_or_spaces_name_the_same_organisation(
    runner, session, tmp_path
):
    import_file(runner, tmp_path, [GOOD])
    rows = [
        {**GOOD, "organisation": "  import   TRUST "},
        {**GOOD, "organisation": "IMPORT TRUST", "external_id": "ext-2"},
    ]
    result = import_file(runner, tmp_path, rows, name="again.csv")
    assert "1 services created, 1 updated" in result.output, result.output
    assert count(session, Organisation) == 1
    assert session.scalars(sa.select(Organisation.name)).all() == ["Import Trust"]
    assert {s.organisation.name for s in session.scalars(sa.select(Service))} == {"Import Trust"}


def test_a_service_stays_with_its_organisation_when_another_has_a_near_identical_name(
    runner, session, tmp_path
):
    harbour = make_organisation(session, "Harbour Trust")
    make_organisation(session, "Harbour trust")
    session.commit()
    import_file(runner, tmp_path, [{**GOOD, "organisation": "Harbour Trust"}])
    result = import_file(runner, tmp_path, [{**GOOD, "organisation": "Harbour trust"}], None, "2")
    assert result.exit_code == 0, result.output
    session.expire_all()
    assert session.scalar(sa.select(Service.organisation_id)) == harbour.id
    # A new service naming neither exactly could belong to either: the file must say which.
    new = {**GOOD, "organisation": "HARBOUR TRUST", "external_id": "ext-2"}
    result = import_file(runner, tmp_path, [new], None, "3")
    assert result.exit_code == 1
    assert "line 2: there are several organisations called “HARBOUR TRUST”" in result.output
    assert "Harbour Trust, Harbour trust" in result.output
    assert count(session, Service) == 1


# What the file leaves out stays as it was.


def test_a_file_without_the_optional_columns_leaves_those_fields_as_they_were(
    runner, session, tmp_path
):
    """A refuge's confidential address stays hidden and a closed service stays closed
    when a file made to correct phone numbers has only the required columns."""
    import_file(runner, tmp_path, [FULL], list(FULL))
    before = listing(session)
    assert before["confidential_address"] and before["status"] == "temporarily_closed"
    result = import_file(
        runner, tmp_path, [{**FULL, "phone": "0141 496 0999"}], [*REQUIRED, "phone"], "phones"
    )
    assert "0 services created, 1 updated" in result.output, result.output
    assert listing(session) == {**before, "phone": "0141 496 0999"}


def test_empty_yes_no_status_and_gender_cells_keep_an_existing_service_as_it_was(
    runner, session, tmp_path
):
    """New services get the defaults: active, address public, anyone, self-referral."""
    import_file(runner, tmp_path, [FULL], list(FULL))
    before = listing(session)
    blank = {name: "" for name in YES_NO_AND_CHOICES}
    rows = [{**FULL, **blank}, {**GOOD, **blank, "external_id": "ext-2"}]
    result = import_file(runner, tmp_path, rows, list(FULL), "blank")
    assert "1 services created, 1 updated" in result.output, result.output
    assert listing(session) == before
    new = listing(session, "ext-2")
    assert (new["status"], new["confidential_address"], new["gender"]) == ("active", False, "any")
    assert new["self_referral"] and new["accepts_custody_referrals"]
    assert not new["veterans_only"] and not new["same_day_access"]


def test_an_age_given_without_the_other_is_checked_against_the_one_kept(runner, session, tmp_path):
    import_file(runner, tmp_path, [FULL], list(FULL))  # ages 18 to 65
    result = import_file(runner, tmp_path, [{**FULL, "max_age": "16"}], [*REQUIRED, "max_age"])
    assert result.exit_code == 1
    assert "line 2: the ages accepted would run from 18 to 16" in result.output
    assert listing(session)["max_age"] == 65


def test_the_upload_page_names_the_services_whose_confidentiality_or_status_changed(
    client, session
):
    sign_in_admin(client, session)
    second = {**FULL, "external_id": "ext-2", "name": "Second", "confidential_address": "no"}
    upload_services(client, io.BytesIO(csv_file([FULL, second], list(FULL)).encode()))
    rows = [
        {**FULL, "confidential_address": "no", "status": "active"},
        {**second, "confidential_address": "yes"},
    ]
    response = upload_services(
        client, io.BytesIO(csv_file(rows, list(FULL)).encode()), follow_redirects=True
    )
    html = response.get_data(as_text=True)
    assert "0 services created, 2 updated" in html
    assert "Imported Service (ext-1): its address is now public" in html
    assert "Imported Service (ext-1): status changed from Temporarily closed to Active" in html
    assert "Second (ext-2): its address is now confidential" in html


# An export imported again updates the same listings.


def test_an_exported_directory_imported_again_updates_the_listings_made_on_the_website(
    client, runner, session, tmp_path
):
    org = make_organisation(session, "Harbour Trust")
    first = make_service(session, organisation=org, name="Harbour Recovery")
    make_service(session, organisation=org, name="Harbour Needle Exchange")
    session.commit()
    rows = list(csv.DictReader(io.StringIO(client.get("/services.csv").get_data(as_text=True))))
    assert rows[0]["external_id"] == f"service-{first.id}"
    rows[0]["name"] = "Harbour Recovery Hub"
    result = import_file(runner, tmp_path, rows, list(rows[0]))
    assert "0 services created, 2 updated" in result.output, result.output
    session.expire_all()
    assert session.scalars(sa.select(Service.name).order_by(Service.id)).all() == [
        "Harbour Recovery Hub",
        "Harbour Needle Exchange",
    ]
    assert session.scalars(sa.select(Service.external_id)).all() == [None, None]
    again = client.get("/services.csv").get_data(as_text=True)
    assert f"service-{first.id}," in again


def test_an_export_id_naming_a_listing_that_is_not_in_the_directory_is_refused(
    runner, session, tmp_path
):
    """Adding it under that id would give two listings one id in the next export."""
    own = make_service(session, external_id="own-1")
    session.commit()
    rows = [
        {**GOOD, "external_id": "service-99999"},
        {**GOOD, "external_id": f"service-{own.id}"},
    ]
    result = import_file(runner, tmp_path, rows)
    assert result.exit_code == 1
    for line, number in [(2, 99999), (3, own.id)]:
        assert f"line {line}: “service-{number}” is how the export names" in result.output
    assert "give the row an external_id of its own" in result.output
    assert count(session, Service) == 1


# What cannot be stored or published is refused by line.


def test_a_cell_with_a_nul_character_is_refused_by_line_and_nothing_is_saved(client, session):
    """PostgreSQL cannot store a NUL: the upload would otherwise fail with a server error."""
    sign_in_admin(client, session)
    rows = [GOOD, {**GOOD, "external_id": "ext-2", "name": "Bad\x00Name"}]
    response = upload_services(client, io.BytesIO(csv_file(rows).encode()))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Line 3" in html and "name has a hidden character that cannot be saved" in html
    assert count(session, Service) == 0


def test_a_cell_with_a_broken_character_is_refused_by_line(session):
    text = csv_file([{**GOOD, "name": "broken \ud800 name"}])
    report = import_services(session, io.StringIO(text), today_local())
    assert report.errors == [
        (
            2,
            "name has a hidden character that cannot be saved (a NUL, or half of a "
            "broken character): type the cell again",
        )
    ]
    assert count(session, Service) == 0


def test_the_upload_page_says_so_when_the_database_refuses_the_file_and_saves_nothing(
    client, session, monkeypatch
):
    from referrals.admin import imports

    def refused(session, *args, **kwargs):
        import_services(session, *args, **kwargs)  # writes, then the database says no
        raise sa.exc.DataError("INSERT", {}, Exception("value too long for the column"))

    monkeypatch.setattr(imports, "import_services", refused)
    sign_in_admin(client, session)
    response = upload_services(client, io.BytesIO(csv_file([GOOD]).encode()))
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "Nothing was imported: the database refused the file" in html
    assert "value too long for the column" in html
    assert count(session, Service) == 0 and count(session, Organisation) == 0
    assert not session.scalar(
        sa.select(sa.func.count()).where(AuditEvent.action == "services_imported")
    )


BAD_WEBSITES = ["https://example.org/our services", "https://exämple.org/straße"]
GOOD_WEBSITES = [
    "https://www.example.org/services?area=glasgow&page=2#hours",
    "http://example.org:8080/our%20services",
    "https://xn--exmple-cua.org/stra%C3%9Fe",
    "https://example.org",
]


def test_a_website_with_spaces_or_letters_outside_ascii_is_refused_by_line(
    runner, session, tmp_path
):
    """The directory API publishes it as a URI, which cannot hold them."""
    rows = [{**GOOD, "external_id": f"w{i}", "website": w} for i, w in enumerate(BAD_WEBSITES)]
    result = import_file(runner, tmp_path, rows)
    assert result.exit_code == 1
    for line, website in enumerate(BAD_WEBSITES, 2):
        assert f"line {line}: website “{website}”: " in result.output, result.output
    assert result.output.count(
        "Enter the website address as it appears in the browser's address bar, for example "
        "https://www.example.org/services"
    ) == len(BAD_WEBSITES)
    assert count(session, Service) == 0


def test_ordinary_web_addresses_are_accepted(runner, session, tmp_path):
    rows = [{**GOOD, "external_id": f"w{i}", "website": w} for i, w in enumerate(GOOD_WEBSITES)]
    result = import_file(runner, tmp_path, rows)
    assert result.exit_code == 0, result.output
    assert sorted(session.scalars(sa.select(Service.website))) == sorted(GOOD_WEBSITES)


def test_the_listing_form_refuses_a_website_with_spaces_or_letters_outside_ascii(client, session):
    service = make_service(session, website="https://example.org/")
    sign_in_admin(client, session)
    for website in BAD_WEBSITES:
        response = client.post(
            f"/services/{service.id}/edit", data=edit_form(service, website=website)
        )
        assert response.status_code == 400
        assert "Enter the website address as it appears in the browser" in response.get_data(
            as_text=True
        )
    session.expire_all()
    assert session.get(Service, service.id).website == "https://example.org/"


def test_the_command_names_the_services_whose_confidentiality_or_status_changed(
    runner, session, tmp_path
):
    import_file(runner, tmp_path, [FULL], list(FULL))
    opened = {**FULL, "status": "active", "confidential_address": "no"}
    result = import_file(runner, tmp_path, [opened], list(FULL), "opened")
    assert "0 services created, 1 updated" in result.output, result.output
    assert "Check: " in result.output and "its address is now public" in result.output
    assert "status changed from Temporarily closed to Active" in result.output
