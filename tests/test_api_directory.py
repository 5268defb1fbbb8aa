"""The public directory API: HSDS 3.0 endpoints and filters, stable UUIDs, CORS, and
no confidential address, whoever asks."""

import datetime as dt
import json
import uuid

import sqlalchemy as sa

from referrals.api.params import STREAM_BATCH
from referrals.choices import ServiceStatus
from referrals.extensions import db
from referrals.models import Service

from .factories import make_organisation, make_service, service_type


def ids(data) -> list[str]:
    return [item["name"] for item in data["contents"]]


def test_the_root_names_the_version_profile_and_description(client):
    response = client.get("/api/v1/")
    assert response.status_code == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert response.get_json() == {
        "version": "HSDS-UK-3.0",
        "profile": "https://openreferraluk.org/specifications/3.0/openapi.json",
        "openapi_url": "http://localhost/api/v1/openapi.json",
    }


def test_services_list_their_own_fields_and_pages(client, session):
    for i in range(3):
        make_service(session, name=f"API {i}", phone="0141 496 0000", min_age=18)
    make_service(session, name="Gone", status=ServiceStatus.INACTIVE)
    session.commit()
    data = client.get("/api/v1/services?per_page=2").get_json()
    assert data["total_items"] == 3 and data["total_pages"] == 2 and data["size"] == 2
    assert data["page_number"] == 1 and data["first_page"] and not data["last_page"]
    item = data["contents"][0]
    assert item["name"] == "API 0" and item["minimum_age"] == 18
    assert item["organization"]["name"].startswith("Test Organisation")
    assert "service_at_locations" not in item  # one-to-one fields unless full=true
    page2 = client.get("/api/v1/services?per_page=2&page=2").get_json()
    assert ids(page2) == ["API 2"] and page2["last_page"]
    full = client.get("/api/v1/services?full=true&per_page=1").get_json()["contents"][0]
    assert full["service_at_locations"][0]["location"]["addresses"][0]["postal_code"] == "G1 1AA"
    minimal = client.get("/api/v1/services?minimal=true").get_json()["contents"][0]
    assert set(minimal) == {"id", "name", "status", "last_modified"}


def test_one_service_is_fully_nested_under_its_uuid(client, session):
    service = make_service(
        session,
        name="One",
        phone="0141 496 0000",
        email="one@example.org",
        hours=[(0, "09:00", "17:00"), (4, "22:00", "02:00")],
        status=ServiceStatus.TEMPORARILY_CLOSED,
    )
    session.commit()
    data = client.get(f"/api/v1/services/{service.uuid}").get_json()
    assert data["id"] == str(service.uuid) and data["status"] == "temporarily closed"
    assert data["organization"]["id"] == str(service.organisation.uuid)
    assert data["schedules"][0] | {"id": None} == {
        "id": None,
        "service_id": str(service.uuid),
        "freq": "WEEKLY",
        "byday": "MO",
        "opens_at": "09:00:00",
        "closes_at": "17:00:00",
        "description": "Monday 09:00 to 17:00",
    }
    assert data["schedules"][1]["description"] == "Friday 22:00 to 02:00 the next day"
    assert data["contacts"][0]["email"] == "one@example.org"
    assert data["contacts"][0]["phones"][0]["number"] == "0141 496 0000"
    assert data["service_areas"][0]["uri"].endswith("/S12000049")
    term = data["attributes"][0]["taxonomy_term"]
    assert term["code"] == "ost" and term["id"] == str(service_type(session, "ost").uuid)
    address = data["service_at_locations"][0]["location"]["addresses"][0]
    assert address["state_province"] == "Glasgow City" and address["country"] == "GB"
    # The same service answers with the same ids every time.
    assert client.get(f"/api/v1/services/{service.uuid}").get_json() == data
    for missing in (uuid.uuid4(), service.id, "nothing"):
        response = client.get(f"/api/v1/services/{missing}")
        assert response.status_code == 404 and response.get_json()["status"] == 404
        assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_confidential_addresses_never_appear(client, session):
    refuge = make_service(session, name="Refuge", confidential_address=True, postcode="G2 9ZZ")
    session.commit()
    for url in (
        f"/api/v1/services/{refuge.uuid}",
        "/api/v1/services?full=true",
        "/api/v1/service_at_locations",
        f"/api/v1/organizations/{refuge.organisation.uuid}?full_service=true",
        "/api/v1/services?format=ndjson&full=true",
    ):
        text = client.get(url).get_data(as_text=True)
        assert "G2 9ZZ" not in text and "Test Street" not in text, url
    assert client.get(f"/api/v1/services/{refuge.uuid}").get_json()["service_at_locations"] == []
    assert (
        client.get(f"/api/v1/service_at_locations/{refuge.locations[0].uuid}").status_code == 404
    )


def test_services_filter_by_search_term_organisation_and_change(
    client, session, changes_listed_at_once
):
    trust = make_organisation(session, "Harbour Trust")
    old = make_service(session, name="Needle Exchange", type_code="iep", organisation=trust)
    make_service(session, name="Methadone Clinic", description="Opioid substitution")
    gone = make_service(session, name="Closed Clinic", status=ServiceStatus.INACTIVE)
    session.flush()
    long_ago = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
    session.execute(sa.update(Service).where(Service.id == old.id).values(updated_at=long_ago))
    session.commit()

    def names(query: str) -> list[str]:
        response = client.get(f"/api/v1/services?{query}")
        assert response.status_code == 200, response.get_json()
        return sorted(ids(response.get_json()))

    assert names("search=clinic") == ["Methadone Clinic"]
    assert names("search=harbour needle") == ["Needle Exchange"]  # organisation name and name
    assert names("search=substitution") == ["Methadone Clinic"]  # description and type name
    assert names("search=50%25") == []
    assert names(f"taxonomy_term_id={service_type(session, 'iep').uuid}") == ["Needle Exchange"]
    assert names(f"organization_id={trust.uuid}") == ["Needle Exchange"]
    assert names("taxonomy_id=e9f2f009-3f56-4563-9b20-4caafa379c3c") == [
        "Methadone Clinic",
        "Needle Exchange",
    ]
    assert names(f"taxonomy_id={uuid.uuid4()}") == []
    # What changed since a time includes services that closed, so copies can drop them.
    assert names("modified_after=2026-06-01T00:00:00Z") == ["Closed Clinic", "Methadone Clinic"]
    assert names("modified_after=2025-12-31") == [
        "Closed Clinic",
        "Methadone Clinic",
        "Needle Exchange",
    ]
    assert names("type=iep") == ["Needle Exchange"]
    assert gone.uuid  # listed above only when asking what changed
    for bad in ("organization_id=7", "modified_after=soon", "full=maybe", "format=xml"):
        response = client.get(f"/api/v1/services?{bad}")
        name = bad.split("=")[0]
        assert response.status_code == 400 and name in response.get_json()["errors"], bad


def test_ndjson_streams_every_item_without_pages(client, session):
    for i in range(5):
        make_service(session, name=f"S{i}")
    session.commit()
    response = client.get("/api/v1/services?format=ndjson&per_page=2")
    assert response.mimetype == "application/x-ndjson"
    lines = response.get_data(as_text=True).splitlines()
    assert [json.loads(line)["name"] for line in lines] == [f"S{i}" for i in range(5)]


def test_service_at_locations_near_a_postcode_nearest_first(client, session):
    near = make_service(session, name="Near", lat=55.853, lon=-4.20)  # about 1.5 km from G31
    far = make_service(session, name="Far", lat=55.95, lon=-3.19, council_name="City of Edinburgh")
    session.commit()
    data = client.get("/api/v1/service_at_locations").get_json()
    assert {item["service"]["name"] for item in data["contents"]} == {"Near", "Far"}
    item = data["contents"][0]
    assert item["id"] == str(near.locations[0].uuid) and item["service_id"] == str(near.uuid)
    covering = client.get("/api/v1/service_at_locations?postcode=G31").get_json()
    assert [i["service"]["name"] for i in covering["contents"]] == ["Near"]
    close = client.get("/api/v1/service_at_locations?postcode=G31&proximity=5000").get_json()
    assert [i["service"]["name"] for i in close["contents"]] == ["Near"]
    wide = client.get("/api/v1/service_at_locations?postcode=G31&proximity=100000").get_json()
    assert [i["service"]["name"] for i in wide["contents"]] == ["Near", "Far"]
    one = client.get(f"/api/v1/service_at_locations/{far.locations[0].uuid}").get_json()
    assert one["id"] == str(far.uuid) and len(one["service_at_locations"]) == 1
    unknown = client.get("/api/v1/service_at_locations?postcode=ZZ99 9ZZ")
    assert unknown.status_code == 400 and "postcode" in unknown.get_json()["errors"]
    alone = client.get("/api/v1/service_at_locations?proximity=5000")
    assert alone.status_code == 400 and "proximity" in alone.get_json()["errors"]


def test_nearest_first_pages_come_from_the_order_not_from_one_parameter_per_location(
    app, client, session
):
    """Thousands of locations can be within a few hundred kilometres: a page of the
    nearest-first list must not send SQL with a parameter (or a CASE branch) for each of
    them (at 50,000 services SQLite refuses that statement, and PostgreSQL took seconds)."""
    for i in range(60):
        make_service(session, name=f"S{i:02d}", lat=55.80 + i * 0.002, lon=-4.20)
    session.commit()
    largest = []

    def watch(conn, cursor, statement, parameters, context, executemany):
        largest.append(len(parameters or ()))

    with app.app_context():
        engine = db.engine
    sa.event.listen(engine, "before_cursor_execute", watch)
    try:
        page = client.get("/api/v1/service_at_locations?postcode=G31&proximity=100000&per_page=5")
    finally:
        sa.event.remove(engine, "before_cursor_execute", watch)
    data = page.get_json()
    assert data["total_items"] == 60 and len(data["contents"]) == 5
    assert max(largest) < 40
    whole = "/api/v1/service_at_locations?postcode=G31&proximity=100000&per_page=60"
    everyone = [i["service"]["name"] for i in client.get(whole).get_json()["contents"]]
    paged = []
    for number in range(1, 13):
        url = (
            f"/api/v1/service_at_locations?postcode=G31&proximity=100000&per_page=5&page={number}"
        )
        paged += [i["service"]["name"] for i in client.get(url).get_json()["contents"]]
    assert paged == everyone and sorted(everyone) == [f"S{i:02d}" for i in range(60)]
    # Nearest first: along the line of services, the names run away from the nearest.
    first = int(everyone[0][1:])
    assert {int(everyone[1][1:]), int(everyone[2][1:])} <= {
        first - 1,
        first + 1,
        first - 2,
        first + 2,
    }


def test_organizations_taxonomies_and_terms(client, session):
    trust = make_organisation(session, "Harbour Trust")
    trust.description = "Recovery support on the Clyde."
    make_service(
        session, name="Harbour Recovery", organisation=trust, type_code="recovery_community"
    )
    make_organisation(session, "Empty Org")
    session.commit()
    orgs = client.get("/api/v1/organizations?search=harbour").get_json()
    assert ids(orgs) == ["Harbour Trust"]
    assert orgs["contents"][0]["description"] == "Recovery support on the Clyde."
    one = client.get(f"/api/v1/organizations/{trust.uuid}").get_json()
    assert [s["name"] for s in one["services"]] == ["Harbour Recovery"]
    assert "service_at_locations" not in one["services"][0]
    nested = client.get(f"/api/v1/organizations/{trust.uuid}?full_service=true").get_json()
    assert nested["services"][0]["service_at_locations"]
    taxonomies = client.get("/api/v1/taxonomies").get_json()
    taxonomy_id = taxonomies["contents"][0]["id"]
    assert client.get(f"/api/v1/taxonomies/{taxonomy_id}").get_json()["name"] == (
        "Referral Pathways service types"
    )
    terms = client.get("/api/v1/taxonomy_terms?per_page=100").get_json()
    assert terms["total_items"] == 18 and terms["contents"][0]["code"] == "ost"
    assert all(t["taxonomy_id"] == taxonomy_id for t in terms["contents"])
    naloxone = client.get("/api/v1/taxonomy_terms?search=naloxone").get_json()["contents"]
    assert [t["code"] for t in naloxone] == ["naloxone"]
    term = client.get(f"/api/v1/taxonomy_terms/{naloxone[0]['id']}").get_json()
    assert term == naloxone[0]
    assert client.get(f"/api/v1/taxonomy_terms?parent_id={uuid.uuid4()}").get_json()["empty"]
    for missing in ("/api/v1/organizations/x", f"/api/v1/taxonomies/{uuid.uuid4()}"):
        assert client.get(missing).status_code == 404


def test_public_endpoints_answer_any_web_page(client, session):
    make_service(session)
    session.commit()
    for url in ("/api/v1/", "/api/v1/services", "/api/v1/openapi.json", "/api/v1/nowhere"):
        response = client.get(url, headers={"Origin": "https://finder.example"})
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
    preflight = client.options("/api/v1/services", headers={"Origin": "https://finder.example"})
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "GET" in preflight.headers["Access-Control-Allow-Methods"]


def test_a_listing_saved_with_new_hours_counts_as_changed(client, session, changes_listed_at_once):
    from referrals.directory.listings import LocationData, ServiceData, apply_service_data

    service = make_service(session, name="Clinic")
    session.execute(
        sa.update(Service)
        .where(Service.id == service.id)
        .values(updated_at=dt.datetime(2026, 1, 1, tzinfo=dt.UTC))
    )
    session.commit()
    assert client.get("/api/v1/services?modified_after=2026-06-01").get_json()["empty"]
    session.refresh(service)
    where = service.locations[0]
    data = ServiceData(
        name=service.name,
        type_codes=["ost"],
        primary_type_code="ost",
        locations=[
            LocationData(
                address_1=where.address_1,
                town=where.town,
                postcode=where.postcode,
                latitude=where.latitude,
                longitude=where.longitude,
                council_area_id=where.council_area_id,
            )
        ],
        hours=[(2, dt.time(10), dt.time(12))],
        last_verified_on=service.last_verified_on,
    )
    apply_service_data(session, service, data, service.organisation)
    session.commit()
    changed = client.get("/api/v1/services?modified_after=2026-06-01").get_json()
    assert ids(changed) == ["Clinic"]
    assert changed["contents"][0]["id"] == str(service.uuid)  # the same listing, same id


def test_a_copy_read_page_by_page_with_the_cursor_misses_nothing_changed_meanwhile(
    client, session
):
    made = [make_service(session, name=f"S{i}") for i in range(1, 7)]
    session.commit()
    first = client.get("/api/v1/services?per_page=2").get_json()
    assert ids(first) == ["S1", "S2"] and first["next_cursor"] and not first["last_page"]
    # S1 closes after page 1 was read: by page number every later page would shift up
    # one and S3 would never be given.
    made[0].status = ServiceStatus.INACTIVE
    session.commit()
    seen, page = ids(first), first
    while page["next_cursor"]:
        page = client.get(f"/api/v1/services?per_page=2&cursor={page['next_cursor']}").get_json()
        seen += ids(page)
    assert seen == [f"S{i}" for i in range(1, 7)]
    assert page["last_page"] and page["page_number"] == 3 and page["total_items"] == 5

    # The same for services at their locations, when an address becomes confidential.
    first = client.get("/api/v1/service_at_locations?per_page=2").get_json()
    made[1].confidential_address = True
    session.commit()
    cursor = first["next_cursor"]
    second = client.get(f"/api/v1/service_at_locations?per_page=2&cursor={cursor}").get_json()
    assert [i["service"]["name"] for i in first["contents"] + second["contents"]] == [
        "S2",
        "S3",
        "S4",
        "S5",
    ]
    organisations = client.get("/api/v1/organizations?per_page=5").get_json()
    rest = client.get(f"/api/v1/organizations?cursor={organisations['next_cursor']}").get_json()
    assert len(ids(organisations) + ids(rest)) == 6 and rest["next_cursor"] is None

    referral_cursor = "MjAyNi0xMS0wMVQwOTowMDowMHwxfDI"  # (time, id, page): the referral list's
    for query in (
        "cursor=not-a-cursor",
        f"cursor={referral_cursor}",
        f"cursor={first['next_cursor']}&page=2",
    ):
        response = client.get(f"/api/v1/services?{query}")
        assert response.status_code == 400 and "cursor" in response.get_json()["errors"], query
    # Nearest first is an order a cursor cannot continue: pages are numbered.
    near = client.get(f"/api/v1/service_at_locations?postcode=G1&proximity=5000&cursor={cursor}")
    assert near.status_code == 400 and "cursor" in near.get_json()["errors"]
    # So are the taxonomy's own order and the one taxonomy: a cursor is refused, not
    # ignored (a copy that sent one would read the first page again and again).
    for path in ("/api/v1/taxonomy_terms", "/api/v1/taxonomies"):
        for extra in ("", "&format=ndjson"):
            refused = client.get(f"{path}?cursor={cursor}{extra}")
            assert refused.status_code == 400, path + extra
            assert "ask for pages by number" in refused.get_json()["errors"]["cursor"]
    # A stream is the whole list: a cursor there would be ignored, so it is refused.
    streamed = client.get(f"/api/v1/services?format=ndjson&cursor={cursor}")
    assert streamed.status_code == 400
    assert streamed.get_json()["errors"]["cursor"] == "a stream is the whole list: send no cursor"


def _change(session, which, **values) -> None:
    """Change services on a connection of their own: while a stream is read, the
    request's context is the current one, and ``session`` would be the request's."""
    with session.get_bind().begin() as connection:
        connection.execute(sa.update(Service).where(which).values(**values))


def _streamed(response, after_line: int, meanwhile) -> list[dict]:
    """The items of an ndjson answer, read line by line; ``meanwhile`` runs once
    ``after_line`` lines have been read."""
    items, text = [], ""
    for chunk in response.response:
        text += chunk.decode() if isinstance(chunk, bytes) else chunk
        *lines, text = text.split("\n")
        items += [json.loads(line) for line in lines]
        if meanwhile and len(items) >= after_line:
            meanwhile()
            meanwhile = None
    response.close()
    return items


def test_the_ndjson_stream_misses_no_service_that_another_leaves_while_it_is_read(client, session):
    organisation = make_organisation(session, "One")
    made = [
        make_service(session, organisation=organisation, name=f"S{i:03d}", hours=[])
        for i in range(STREAM_BATCH + 10)
    ]
    session.commit()

    def close_the_first():
        _change(session, Service.id == made[0].id, status=ServiceStatus.INACTIVE)

    response = client.get("/api/v1/services?format=ndjson&minimal=true", buffered=False)
    items = _streamed(response, STREAM_BATCH, close_the_first)
    assert [item["name"] for item in items] == [service.name for service in made]


def test_the_nearest_first_stream_misses_nothing_and_never_sends_an_address_made_confidential(
    client, session
):
    organisation = make_organisation(session, "One")
    made = [
        make_service(
            session,
            organisation=organisation,
            name=f"S{i:03d}",
            lat=55.857 + (i + 1) * 0.0005,  # north of G31's middle, each further away
            lon=-4.208,
            hours=[],
        )
        for i in range(STREAM_BATCH + 10)
    ]
    session.commit()

    def change_two():
        _change(session, Service.id == made[0].id, status=ServiceStatus.INACTIVE)
        _change(session, Service.id == made[-1].id, confidential_address=True)

    response = client.get(
        "/api/v1/service_at_locations?format=ndjson&postcode=G31&proximity=100000",
        buffered=False,
    )
    items = _streamed(response, STREAM_BATCH, change_two)
    assert [item["service"]["name"] for item in items] == [s.name for s in made[:-1]]


def test_a_type_and_a_taxonomy_term_together_both_apply(client, session):
    make_service(session, name="OST only", type_code="ost")
    both = make_service(session, name="OST and naloxone", type_code="ost")
    both.types.append(service_type(session, "naloxone"))
    make_service(session, name="Naloxone only", type_code="naloxone")
    session.commit()
    ost = service_type(session, "ost").uuid
    answer = client.get(f"/api/v1/services?taxonomy_term_id={ost}&type=naloxone").get_json()
    assert ids(answer) == ["OST and naloxone"]


def test_taxonomies_answer_format_as_every_other_list_does(client):
    lines = client.get("/api/v1/taxonomies?format=ndjson")
    assert lines.mimetype == "application/x-ndjson"
    [taxonomy] = [json.loads(line) for line in lines.get_data(as_text=True).splitlines()]
    assert taxonomy["name"] == "Referral Pathways service types"
    wrong = client.get("/api/v1/taxonomies?format=xml")
    assert wrong.status_code == 400 and "format" in wrong.get_json()["errors"]


def test_websites_saved_before_they_were_checked_are_left_out_not_published_broken(
    client, session
):
    """The API gives websites as URIs; an address typed before the directory checked them
    (a space, no https://) is left out rather than break the systems reading it."""
    org = make_organisation(session, "Old Listing Trust")
    org.website = "www.old listing.example"
    broken = make_service(session, organisation=org, name="Old Listing", website="old.example")
    good = make_service(session, name="Good Listing", website="https://good.example/recovery")
    session.commit()
    body = client.get(f"/api/v1/services/{broken.uuid}").get_json()
    assert "url" not in body and "website" not in body["organization"]
    assert body["name"] == "Old Listing"
    assert client.get(f"/api/v1/services/{good.uuid}").get_json()["url"] == (
        "https://good.example/recovery"
    )
    listed = client.get(f"/api/v1/organizations/{org.uuid}").get_json()
    assert "website" not in listed


def test_minimal_services_take_as_many_a_page_as_the_description_says(client, session):
    for i in range(3):
        make_service(session, name=f"S{i}")
    session.commit()
    described = client.get("/api/v1/openapi.json").get_json()["paths"]["/services"]["get"]
    [per_page] = [p for p in described["parameters"] if p["name"] == "per_page"]
    most = per_page["schema"]["maximum"]
    # The largest page described is given (with minimal=true); one more is refused.
    largest = client.get(f"/api/v1/services?minimal=true&per_page={most}")
    assert largest.status_code == 200 and largest.get_json()["size"] == 3
    over = client.get(f"/api/v1/services?minimal=true&per_page={most + 1}")
    assert over.status_code == 400 and "per_page" in over.get_json()["errors"]
    # Without minimal=true pages are smaller, as the description says.
    assert "200" in per_page["description"] and "minimal" in per_page["description"]
    assert client.get("/api/v1/services?per_page=200").status_code == 200
    smaller = client.get(f"/api/v1/services?per_page={most}")
    assert smaller.status_code == 400 and "per_page" in smaller.get_json()["errors"]
    assert client.get("/api/v1/services?per_page=201").status_code == 400


def test_an_inactive_services_locations_are_published_nowhere(
    client, session, changes_listed_at_once
):
    kept = make_service(session, name="Open Clinic")
    gone = make_service(session, name="Closed Clinic", postcode="G3 8AA")
    gone.status = ServiceStatus.INACTIVE
    session.commit()
    where = str(gone.locations[0].uuid)
    assert client.get(f"/api/v1/service_at_locations/{where}").status_code == 404
    for url in (
        "/api/v1/service_at_locations",
        "/api/v1/service_at_locations?modified_after=2000-01-01",
        "/api/v1/service_at_locations?modified_after=2000-01-01&format=ndjson",
        "/api/v1/service_at_locations?modified_after=2000-01-01&postcode=G1&proximity=5000",
        "/api/v1/services?modified_after=2000-01-01&full=true",
        "/api/v1/services?modified_after=2000-01-01&full=true&format=ndjson",
        f"/api/v1/services/{gone.uuid}",
    ):
        response = client.get(url)
        assert response.status_code == 200, url
        text = response.get_data(as_text=True)
        assert where not in text and "G3 8AA" not in text, url
    # The service itself is still given (a copy learns that it closed), without locations.
    closed = client.get(f"/api/v1/services/{gone.uuid}").get_json()
    assert closed["status"] == "inactive" and closed["service_at_locations"] == []
    # Every service at a location the lists give is there to be read on its own.
    listed = client.get("/api/v1/service_at_locations?modified_after=2000-01-01").get_json()
    assert [item["service_id"] for item in listed["contents"]] == [str(kept.uuid)]
    for item in listed["contents"]:
        assert client.get(f"/api/v1/service_at_locations/{item['id']}").status_code == 200
