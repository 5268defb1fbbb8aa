"""The public directory conforms to Open Referral HSDS 3.0 and the Open Referral UK profile.

Every endpoint's answers are validated (formats included: UUIDs, dates, URIs, emails)
against the response schemas of the HSDS 3.0 OpenAPI description and the HSDS JSON
schemas it refers to, read from the shared copy in ``../shared/data/hsds-3.0/`` (or
``HSDS_SCHEMA_DIR``), never from the network. The description refers to the schemas by
their published addresses; each is served here from the local file of the same name
(``compiled/service.json`` is published as ``compiled/service_with_definitions.json``).

Open Referral UK adds its compliance rules: the root declares the ``HSDS-UK-3.0`` profile
and where this API's description is; every answer, errors included, carries
``Access-Control-Allow-Origin: *``; the endpoints are open, with no key; and a taxonomy
term always names its taxonomy.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from jsonschema import Draft202012Validator
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from referrals.choices import ServiceStatus

from .factories import make_organisation, make_service

SCHEMA_DIR = Path(
    os.environ.get("HSDS_SCHEMA_DIR")
    or Path(__file__).resolve().parents[1].parent / "shared" / "data" / "hsds-3.0"
)
PUBLISHED = "https://raw.githubusercontent.com/openreferral/specification/3.0/schema/"
OPENAPI = "urn:hsds-3.0:openapi"
ORUK_PATHS = [
    "/",
    "/services",
    "/services/{id}",
    "/taxonomies",
    "/taxonomies/{id}",
    "/taxonomy_terms",
    "/taxonomy_terms/{id}",
    "/organizations",
    "/organizations/{id}",
    "/service_at_locations",
    "/service_at_locations/{id}",
]


def _load(name: str) -> dict:
    return json.loads((SCHEMA_DIR / name).read_text())


@pytest.fixture(scope="module")
def hsds() -> tuple[dict, Registry]:
    if not (SCHEMA_DIR / "openapi.json").exists():
        # As with the shared geography files: a deployment's checkout may not have them.
        pytest.skip(
            f"The HSDS 3.0 schemas are not at {SCHEMA_DIR}: set HSDS_SCHEMA_DIR to the folder "
            "holding openapi.json and the schema files."
        )
    openapi = _load("openapi.json")
    resources = {OPENAPI: openapi}
    for path in SCHEMA_DIR.glob("*.json"):
        if path.name != "openapi.json":
            # Unqualified schemas are also reachable from compiled/ (relative references).
            resources[PUBLISHED + path.name] = _load(path.name)
            resources[PUBLISHED + "compiled/" + path.name] = _load(path.name)
    for path in (SCHEMA_DIR / "compiled").glob("*.json"):
        resources[PUBLISHED + "compiled/" + path.name] = _load("compiled/" + path.name)
    resources[PUBLISHED + "compiled/service.json"] = _load(
        "compiled/service_with_definitions.json"
    )
    # Open Referral UK: a taxonomy term names its taxonomy.
    term = resources[PUBLISHED + "taxonomy_term.json"]
    term["required"] = sorted({*term["required"], "taxonomy"})
    registry = Registry().with_resources(
        (uri, DRAFT202012.create_resource(contents)) for uri, contents in resources.items()
    )
    return openapi, registry


def response_schema(openapi: dict, path: str) -> dict:
    pointer = "/paths/" + path.replace("~", "~0").replace("/", "~1")
    operation = openapi["paths"][path]["get"]
    assert "200" in operation["responses"], path
    return {"$ref": f"{OPENAPI}#{pointer}/get/responses/200/content/application~1json/schema"}


def assert_conforms(hsds, path: str, body: dict) -> None:
    openapi, registry = hsds
    validator = Draft202012Validator(
        response_schema(openapi, path),
        registry=registry,
        format_checker=Draft202012Validator.FORMAT_CHECKER,
    )
    problems = [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"
        for error in validator.iter_errors(body)
    ]
    assert not problems, f"{path} does not conform to HSDS 3.0:\n" + "\n".join(problems[:20])


@pytest.fixture
def directory(session):
    trust = make_organisation(session, "Harbour Trust")
    trust.description = "Recovery support on the Clyde."
    trust.email = "hello@harbour.example"
    trust.website = "https://harbour.example"
    trust.phone = "0141 496 0100"
    full = make_service(
        session,
        organisation=trust,
        name="Harbour Recovery",
        description="Peer support and a recovery cafe.",
        type_code="recovery_community",
        phone="0141 496 0101",
        email="referrals@harbour.example",
        website="https://harbour.example/recovery",
        referral_method="Phone, or refer through Referral Pathways.",
        typical_wait_days=7,
        min_age=16,
        max_age=25,
        alert="Closed on public holidays.",
        hours=[(0, "09:00", "17:00"), (5, "22:00", "02:00")],
    )
    make_service(
        session,
        organisation=make_organisation(session, "Bare Org"),
        name="Bare Service",
        hours=[],
        status=ServiceStatus.TEMPORARILY_CLOSED,
    )
    refuge = make_service(session, name="Refuge", confidential_address=True, type_code="womens")
    session.commit()
    return {"full": full, "trust": trust, "refuge": refuge}


def test_every_endpoint_answers_as_hsds_3_0_describes(client, hsds, directory):
    term = client.get("/api/v1/taxonomy_terms?search=recovery").get_json()["contents"][0]
    taxonomy = client.get("/api/v1/taxonomies").get_json()["contents"][0]
    full, trust = directory["full"], directory["trust"]
    sal = str(full.locations[0].uuid)
    checks = [
        ("/", "/api/v1/"),
        ("/services", "/api/v1/services"),
        ("/services", "/api/v1/services?full=true"),
        ("/services", "/api/v1/services?minimal=true"),
        ("/services", f"/api/v1/services?taxonomy_term_id={term['id']}&search=harbour"),
        ("/services/{id}", f"/api/v1/services/{full.uuid}"),
        ("/services/{id}", f"/api/v1/services/{directory['refuge'].uuid}"),
        ("/taxonomies", "/api/v1/taxonomies"),
        ("/taxonomies/{id}", f"/api/v1/taxonomies/{taxonomy['id']}"),
        ("/taxonomy_terms", "/api/v1/taxonomy_terms?per_page=50"),
        ("/taxonomy_terms/{id}", f"/api/v1/taxonomy_terms/{term['id']}"),
        ("/organizations", "/api/v1/organizations"),
        ("/organizations", "/api/v1/organizations?full=true"),
        ("/organizations/{id}", f"/api/v1/organizations/{trust.uuid}"),
        ("/organizations/{id}", f"/api/v1/organizations/{trust.uuid}?full_service=true"),
        ("/service_at_locations", "/api/v1/service_at_locations"),
        ("/service_at_locations", "/api/v1/service_at_locations?postcode=G1&proximity=5000"),
        ("/service_at_locations/{id}", f"/api/v1/service_at_locations/{sal}"),
    ]
    for path, url in checks:
        response = client.get(url)
        assert response.status_code == 200, url
        body = response.get_json()
        if path != "/":
            assert body != {} and (body.get("contents") != [] if "contents" in body else True), url
        assert_conforms(hsds, path, body)


def test_a_response_that_breaks_hsds_is_caught(client, hsds, directory):
    """The check above can fail: an id that is not a UUID, or a missing status, does."""
    body = client.get(f"/api/v1/services/{directory['full'].uuid}").get_json()
    for broken in ({**body, "id": "42"}, {k: v for k, v in body.items() if k != "status"}):
        with pytest.raises(AssertionError, match="does not conform"):
            assert_conforms(hsds, "/services/{id}", broken)
    term = client.get("/api/v1/taxonomy_terms").get_json()["contents"][0]
    with pytest.raises(AssertionError, match="taxonomy"):
        assert_conforms(
            hsds, "/taxonomy_terms/{id}", {k: v for k, v in term.items() if k != "taxonomy"}
        )


def test_open_referral_uk_profile_rules(client, hsds, directory):
    openapi, _registry = hsds
    root = client.get("/api/v1/").get_json()
    assert root["version"] == "HSDS-UK-3.0"
    assert root["profile"].startswith("https://openreferraluk.org/")
    description = client.get(root["openapi_url"].removeprefix("http://localhost")).get_json()
    assert description["openapi"] == "3.1.0"
    ours = set(description["paths"])
    for path in ORUK_PATHS:
        assert path in openapi["paths"] and path in ours, path
    # Open, and usable from any web page: every answer, errors too, allows any origin.
    for url in (
        "/api/v1/",
        "/api/v1/services",
        f"/api/v1/services/{directory['full'].uuid}",
        "/api/v1/services/not-a-service",
        "/api/v1/services?page=0",
        "/api/v1/taxonomy_terms",
        "/api/v1/organizations",
        "/api/v1/service_at_locations",
    ):
        response = client.get(url, headers={"Origin": "https://validator.example"})
        assert response.status_code in (200, 400, 404), url
        assert response.headers["Access-Control-Allow-Origin"] == "*", url
