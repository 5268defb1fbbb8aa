"""``/api/v1/openapi.json``: the OpenAPI 3.1 description of every endpoint of the API.

It is built from the same code lists the API checks against (statuses, pathways, actions),
so the description and the behaviour cannot drift apart; the test suite runs schemathesis
against it on both databases.
"""

from __future__ import annotations

from flask import jsonify, url_for

from . import bp
from .directory_queries import MAX_PROXIMITY_M
from .hsds import HSDS_VERSION, PROFILE_URL
from .openapi_parts import (
    BAD_QUERY,
    NOT_FOUND,
    PAGING,
    TOO_MANY,
    UUID,
    get,
    ok,
    page_of,
    page_with_cursor,
    paging,
    path_id,
    problem,
    query,
    ref,
)
from .openapi_referral_paths import referral_paths
from .openapi_referrals import REFERRAL_SCHEMAS
from .openapi_reports import REPORT_SCHEMAS, report_paths
from .openapi_schemas import DIRECTORY_SCHEMAS
from .params import MAX_PER_PAGE, MINIMAL_MAX_PER_PAGE

SEARCH = query("search", {"type": "string", "maxLength": 200}, "Words that must all appear.")
CHANGED = "Only services changed on or after this time (UTC if no offset)"


def service_filters(modified_after: str) -> list[dict]:
    """The filters of the services lists; ``modified_after`` as described."""
    return [
        SEARCH,
        query("taxonomy_term_id", UUID, "Only services of this service type (/taxonomy_terms)."),
        query("taxonomy_id", UUID, "Only services with a term from this taxonomy."),
        query("organization_id", UUID, "Only this organisation's services."),
        query("modified_after", {"type": "string", "format": "date-time"}, modified_after),
        query("type", {"type": "string"}, "Local: only services of this type code, like ost."),
        query("full", {"type": "boolean"}, "true: each item fully nested."),
    ]


SERVICE_FILTERS = service_filters(
    f"{CHANGED}; includes services that became inactive (given without locations), so a "
    "copy can be kept in step."
)
LOCATION_FILTERS = service_filters(
    f"{CHANGED}. The locations of an inactive service are never listed, whenever it "
    "changed: /services with modified_after lists the services that became inactive, so "
    "a copy can drop their locations."
)
SAL_NOT_FOUND = problem(
    "No such service at a location, or not one that is published: the locations of an "
    "inactive service, and confidential addresses, are not."
)
CURSOR = query(
    "cursor",
    {"type": "string"},
    "Where the next page starts: the next_cursor of the page before (instead of page). "
    "A system keeping a copy should read the pages this way, or ask only for what changed "
    "(modified_after): when an item leaves the list while the pages are read (a service "
    "closed, an address made confidential), every page numbered after it shifts up one "
    "and an item listed throughout is missed; a page after a cursor starts after the "
    "last item given, however the list changed meanwhile. Not with format=ndjson, "
    "which is the whole list.",
)


def _paths() -> dict:
    return {
        "/": get(
            "HSDS version, profile and this description",
            "getApiMetaInformation",
            {"200": ok(ref("Root"))},
        ),
        "/openapi.json": get("This description", "getOpenApi", {"200": ok({"type": "object"})}),
        "/services": get(
            "Services, filtered and paginated",
            "getPaginatedListOfServices",
            {
                "200": ok(
                    page_with_cursor(
                        {"anyOf": [ref("Service"), ref("ServiceSummary"), ref("ServiceMinimal")]}
                    ),
                    ndjson=True,
                ),
                "400": BAD_QUERY,
                "429": TOO_MANY,
            },
            [
                *SERVICE_FILTERS,
                query(
                    "minimal",
                    {"type": "boolean"},
                    "true: id, name, status and last_modified only; per_page may then be up "
                    f"to {MINIMAL_MAX_PER_PAGE:,}.",
                ),
                *paging(
                    MINIMAL_MAX_PER_PAGE,
                    f"Items a page: at most {MAX_PER_PAGE:,}, or {MINIMAL_MAX_PER_PAGE:,} "
                    "with minimal=true; more is answered 400.",
                ),
                CURSOR,
            ],
        ),
        "/services/{id}": get(
            "One service, fully nested (an inactive one without its locations)",
            "getFullyNestedServiceById",
            {"200": ok(ref("Service")), "404": NOT_FOUND},
            [path_id("The service's id.")],
        ),
        "/service_at_locations": get(
            "Services at their public locations (none of an inactive service)",
            "getPaginatedListOfServiceAtLocation",
            {
                "200": ok(page_with_cursor(ref("ServiceAtLocation"), always=False), ndjson=True),
                "400": BAD_QUERY,
                "429": TOO_MANY,
            },
            [
                *LOCATION_FILTERS,
                query(
                    "postcode",
                    {"type": "string", "maxLength": 100},
                    "Only services covering this postcode's council area.",
                ),
                query(
                    "proximity",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PROXIMITY_M},
                    "With postcode: only locations within this many metres, nearest first "
                    "(pages are then found by number only, and have no next_cursor).",
                ),
                *PAGING,
                CURSOR,
            ],
        ),
        "/service_at_locations/{id}": get(
            "The service, fully nested, at one of its locations (as HSDS 3.0 describes it)",
            "getServiceAtLocationWithNestedDataById",
            {"200": ok(ref("Service")), "404": SAL_NOT_FOUND},
            [path_id("The service-at-location's id.")],
        ),
        "/organizations": get(
            "Organisations",
            "getPaginatedListOfOrganizations",
            {
                "200": ok(
                    page_with_cursor({"anyOf": [ref("OrganizationFull"), ref("Organization")]}),
                    ndjson=True,
                ),
                "400": BAD_QUERY,
                "429": TOO_MANY,
            },
            [
                SEARCH,
                query("full", {"type": "boolean"}, "true: with phones and services."),
                query("full_service", {"type": "boolean"}, "true: with services fully nested."),
                *PAGING,
                CURSOR,
            ],
        ),
        "/organizations/{id}": get(
            "One organisation with its services",
            "getOrganizationById",
            {"200": ok(ref("OrganizationFull")), "400": BAD_QUERY, "404": NOT_FOUND},
            [
                path_id("The organisation's id."),
                query("full_service", {"type": "boolean"}, "true: services fully nested."),
            ],
        ),
        "/taxonomies": get(
            "Taxonomies (one: the service types)",
            "getPaginatedListOfTaxonomies",
            {"200": ok(page_of(ref("Taxonomy")), ndjson=True), "400": BAD_QUERY},
            [SEARCH, *PAGING],
        ),
        "/taxonomies/{id}": get(
            "One taxonomy",
            "getTaxonomyById",
            {"200": ok(ref("Taxonomy")), "404": NOT_FOUND},
            [path_id("The taxonomy's id.")],
        ),
        "/taxonomy_terms": get(
            "Service types",
            "getPaginatedListOfTaxonomyTerms",
            {
                "200": ok(page_of(ref("TaxonomyTerm")), ndjson=True),
                "400": BAD_QUERY,
                "429": TOO_MANY,
            },
            [
                SEARCH,
                query("taxonomy_id", UUID, "Only terms of this taxonomy."),
                query("parent_id", UUID, "Only children of this term (there are none)."),
                query("top_only", {"type": "boolean"}, "Only top-level terms (all are)."),
                *PAGING,
            ],
        ),
        "/taxonomy_terms/{id}": get(
            "One service type",
            "getTaxonomyTermById",
            {"200": ok(ref("TaxonomyTerm")), "404": NOT_FOUND},
            [path_id("The term's id.")],
        ),
        **referral_paths(),
        **report_paths(),
    }


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Referral Pathways API",
            "version": "1.0.0",
            "summary": (
                "Drug treatment and harm-reduction services, and referrals to them from custody."
            ),
            "description": (
                f"The public directory follows Open Referral HSDS 3.0 ({HSDS_VERSION}, profile "
                f"{PROFILE_URL}): anyone may read it, from any web page. The referral API is "
                "for systems an administrator has registered: send the token as "
                "`Authorization: Bearer <token>`. A custody system sees and makes the "
                "referrals of its custody suites; a provider's case system sees and updates "
                "referrals to its organisation's services. Everything else answers 404. "
                "A reports system reads /reports (anything else answers it 403): the "
                "published figures, protected exactly as on the report pages. Status "
                "changes reach a system's own address as signed webhooks (see the README). "
                "A system keeping a copy of a list reads its pages by cursor (each page's "
                "next_cursor), not by page number, or asks only for what changed "
                "(modified_after in the directory, changed_since for referrals); such a "
                "list ends a few seconds ago, so a change appears a few seconds after it "
                "is made."
            ),
        },
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "servers": [{"url": url_for("api.root", _external=True).rstrip("/")}],
        "paths": _paths(),
        "components": {
            "schemas": DIRECTORY_SCHEMAS | REFERRAL_SCHEMAS | REPORT_SCHEMAS,
            "securitySchemes": {
                "bearerToken": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "A registered system's token, from /admin/api-clients.",
                }
            },
        },
    }


@bp.get("/openapi.json")
def openapi():
    return jsonify(document())
