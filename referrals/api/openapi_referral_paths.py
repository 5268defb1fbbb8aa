"""The referral API's operations in the OpenAPI description."""

from __future__ import annotations

from ..choices import ReferralStatus
from ..once import TOKEN_LENGTH
from .openapi_parts import (
    BAD_QUERY,
    FORBIDDEN,
    INVALID,
    JSON,
    NOT_FOUND,
    PAGING,
    SECURED,
    STRING,
    UNAUTHORISED,
    get,
    ok,
    page_with_cursor,
    path_id,
    problem,
    query,
    ref,
)

READS_REPORTS_ONLY = problem("The token is a reports system's: it may read /reports only.")
IDEMPOTENCY_KEY = {
    "name": "Idempotency-Key",
    "in": "header",
    "required": False,
    "schema": {"type": "string", "minLength": 1, "maxLength": TOKEN_LENGTH},
    "description": "This request's own name (a new UUID, say), kept with the referral it "
    "makes: the same request sent again with the same key (after a lost answer) makes "
    "nothing and is answered as the first time, 201 with the same referral and Location, "
    "so that the code that handles the first answer handles the repeat. The body is not "
    "compared: a key names one referral. Each system's keys are its own.",
}


def referral_paths() -> dict:
    referral_id = path_id("The referral's id.")
    return {
        "/referrals": {
            "get": {
                "summary": "Referrals this system may see, oldest change first",
                "operationId": "listReferrals",
                "security": SECURED,
                "parameters": [
                    query(
                        "changed_since",
                        {"type": "string", "format": "date-time"},
                        "Only referrals changed on or after this time (UTC if no offset). "
                        "Keep a copy in step by asking again from the last updated_at seen. "
                        "The list ends a few seconds ago (the server's "
                        "API_CHANGES_SETTLE_SECONDS), so that no change saved a moment "
                        "earlier but committed later is left behind.",
                    ),
                    query(
                        "status",
                        {"type": "string", "enum": ReferralStatus.values()},
                        "Only this status.",
                    ),
                    *PAGING[:2],
                    query(
                        "cursor",
                        STRING,
                        "Where the next page starts: the next_cursor of the page before "
                        "(instead of page). Pages found this way cost the same however far "
                        "in they are, and a referral changed while you read moves to the end "
                        "and is given again rather than skipped.",
                    ),
                ],
                "responses": {
                    "200": ok(page_with_cursor(ref("ReferralSummary"))),
                    "400": BAD_QUERY,
                    "401": UNAUTHORISED,
                    "403": READS_REPORTS_ONLY,
                },
            },
            "post": {
                "summary": "Make a referral (custody systems)",
                "operationId": "createReferral",
                "security": SECURED,
                "parameters": [IDEMPOTENCY_KEY],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("NewReferral")}},
                },
                "responses": {
                    "201": {
                        **ok(
                            ref("Referral"),
                            "Made (or, sent again with its Idempotency-Key, made before)",
                        ),
                        "headers": {
                            "Location": {
                                "schema": STRING,
                                "description": "The referral's address.",
                            }
                        },
                    },
                    "400": problem(
                        "The body is not a JSON object, or the Idempotency-Key header is "
                        f"empty or longer than {TOKEN_LENGTH} characters."
                    ),
                    "401": UNAUTHORISED,
                    "403": FORBIDDEN,
                    "409": problem(
                        "The same person was referred to the same service in the last 28 "
                        "days from one of this system's suites: send again with "
                        "confirm_duplicate true if this is a new one. (A referral from "
                        "another suite is not named: the new one is made and flagged to "
                        "the service.) Or the person clearly does not fit who the service "
                        "takes (its listing's gender or ages): send again with "
                        "confirm_eligibility true if the service will take them."
                    ),
                    "422": INVALID,
                },
            },
        },
        "/referrals/{id}": get(
            "One referral, with its history",
            "getReferral",
            {
                "200": ok(ref("Referral")),
                "401": UNAUTHORISED,
                "403": READS_REPORTS_ONLY,
                "404": NOT_FOUND,
            },
            [referral_id],
            security=SECURED,
        ),
        "/referrals/{id}/fhir": get(
            "The referral as FHIR R4: ServiceRequest and Task in a Bundle",
            "getReferralFhir",
            {
                "200": {
                    "description": "OK",
                    "content": {"application/fhir+json": {"schema": ref("FhirBundle")}},
                },
                "401": UNAUTHORISED,
                "403": READS_REPORTS_ONLY,
                "404": NOT_FOUND,
            },
            [referral_id],
            security=SECURED,
        ),
        "/referrals/{id}/events": {
            "post": {
                "summary": "Record a step of the referral's lifecycle",
                "operationId": "changeReferral",
                "security": SECURED,
                "parameters": [referral_id],
                "requestBody": {
                    "required": True,
                    "content": {JSON: {"schema": ref("StatusChange")}},
                },
                "responses": {
                    "201": ok(
                        ref("Referral"),
                        "Recorded: the referral as it is now. The same change sent again "
                        "(with the version it was sent with) within two minutes of this "
                        "system recording it, and nothing recorded since, is answered the "
                        "same way and recorded once.",
                    ),
                    "400": problem("The body is not a JSON object."),
                    "401": UNAUTHORISED,
                    "403": FORBIDDEN,
                    "404": NOT_FOUND,
                    "409": problem(
                        "Someone else changed the referral first (or this system made "
                        "another change, or this one more than two minutes ago): "
                        "errors.version is its version now."
                    ),
                    "422": INVALID,
                },
            }
        },
    }
