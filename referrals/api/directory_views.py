"""The public directory API: Open Referral HSDS 3.0 endpoints, Open Referral UK profile.

Anyone may read it, from any web page (CORS), with no token; confidential addresses are
never included, whoever asks. Lists answer in the HSDS page envelope, found by page
number or, where a list is in order of id, after a ``cursor`` (``lists.py``), or with
``format=ndjson`` as every item, one per line; they are rate-limited per client address
(``_list_limit``).
"""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app, jsonify, request, url_for

from ..extensions import db
from ..models import Location, Organisation, Service, ServiceType
from ..security import limiter
from . import bp, hsds
from .cursors import cursor_arg, settled_before
from .directory_queries import (
    MAX_PROXIMITY_M,
    DirectoryFilter,
    locations_by_id,
    near_postcode,
    organisation_services,
    public_location_ids,
    service_conditions,
    services_by_id,
)
from .lists import listed, listing
from .params import (
    MAX_PER_PAGE,
    MINIMAL_MAX_PER_PAGE,
    ApiError,
    Paging,
    bool_arg,
    choice_arg,
    datetime_arg,
    int_arg,
    list_arg,
    parse_uuid,
    text_arg,
    uuid_arg,
)


def _filter() -> DirectoryFilter:
    modified_after = datetime_arg("modified_after")
    return DirectoryFilter(
        search=text_arg("search"),
        taxonomy_term_id=uuid_arg("taxonomy_term_id"),
        taxonomy_id=uuid_arg("taxonomy_id"),
        organization_id=uuid_arg("organization_id"),
        modified_after=modified_after,
        settled_before=settled_before() if modified_after is not None else None,
        type_codes=list_arg("type"),
    )


def _list_limit() -> str:
    """Lists are limited per client address: a whole list at once (``format=ndjson``) or
    organisations with every service in full as often as the directory's CSV, pages as
    ``DIRECTORY_API_RATE_LIMIT`` says."""
    config = current_app.config
    whole = request.args.get("format") == "ndjson" or "full_service" in request.args
    return config["EXPORT_RATE_LIMIT"] if whole else config["DIRECTORY_API_RATE_LIMIT"]


def _ndjson() -> bool:
    return choice_arg("format", ["json", "ndjson"], "json") == "ndjson"


def _not_found(kind: str) -> ApiError:
    return ApiError(404, f"No {kind} with that id.")


@bp.get("/")
def root():
    return jsonify(
        {
            "version": hsds.HSDS_VERSION,
            "profile": hsds.PROFILE_URL,
            "openapi_url": url_for("api.openapi", _external=True),
        }
    )


@bp.get("/services")
@limiter.limit(_list_limit)
def services():
    minimal, full = bool_arg("minimal"), bool_arg("full")
    paging = Paging.from_request(MINIMAL_MAX_PER_PAGE if minimal else MAX_PER_PAGE)
    ids = sa.select(Service.id).where(*service_conditions(_filter())).order_by(Service.id)
    shape = (
        hsds.service_minimal if minimal else hsds.service_full if full else hsds.service_summary
    )
    return listing(
        db.session,
        ids,
        lambda page: services_by_id(db.session, page),
        shape,
        paging,
        key=Service.id,
        cursor=cursor_arg(timed=False),
        ndjson=_ndjson(),
    )


@bp.get("/services/<service_id>")
def service(service_id: str):
    key = parse_uuid(service_id)
    found = key and db.session.scalar(sa.select(Service.id).where(Service.uuid == key))
    if not found:
        raise _not_found("service")
    return jsonify(hsds.service_full(services_by_id(db.session, [found])[0]))


@bp.get("/service_at_locations")
@limiter.limit(_list_limit)
def service_at_locations():
    paging = Paging.from_request()
    full = bool_arg("full")
    ids = public_location_ids(_filter())
    postcode = text_arg("postcode", 100)
    proximity = int_arg("proximity", 0, 1, MAX_PROXIMITY_M) or None
    if proximity and not postcode:
        message = "needs a postcode to measure from"
        raise ApiError(400, f"proximity {message}.", {"proximity": message})
    order = None  # nearest first, with proximity
    if postcode:
        ids, order = near_postcode(db.session, ids, postcode, proximity)

    def shape(loc: Location) -> dict:
        service = hsds.service_full(loc.service) if full else hsds.service_summary(loc.service)
        return hsds.service_at_location(loc, with_service=service)

    return listing(
        db.session,
        ids,
        lambda page: locations_by_id(db.session, page),
        shape,
        paging,
        key=None if proximity else Location.id,  # nearest first, or in order of id
        cursor=cursor_arg(timed=False),
        ndjson=_ndjson(),
        order=order,
    )


@bp.get("/service_at_locations/<sal_id>")
def service_at_location(sal_id: str):
    """As HSDS 3.0 describes it: the service, fully nested, at this one location."""
    key = parse_uuid(sal_id)
    found = key and db.session.scalar(
        public_location_ids(DirectoryFilter()).where(Location.uuid == key)
    )
    if not found:
        raise _not_found("service at a location")
    loc = locations_by_id(db.session, [found])[0]
    return jsonify(hsds.service_full(loc.service, only=loc))


@bp.get("/organizations")
@limiter.limit(_list_limit)
def organizations():
    paging = Paging.from_request()
    full, full_service = bool_arg("full"), bool_arg("full_service")
    search = text_arg("search")
    ids = sa.select(Organisation.id).order_by(Organisation.id)
    for word in (search or "").split():
        ids = ids.where(sa.func.lower(Organisation.name).contains(word.lower(), autoescape=True))

    def load(page: list[int]) -> list[Organisation]:
        query = sa.select(Organisation).where(Organisation.id.in_(page))
        found = {o.id: o for o in db.session.scalars(query)}
        return [found[i] for i in page]

    def shape(org: Organisation) -> dict:
        if full or full_service:
            return _organization_full(org, full_service)
        return hsds.organization(org)

    return listing(
        db.session,
        ids,
        load,
        shape,
        paging,
        key=Organisation.id,
        cursor=cursor_arg(timed=False),
        ndjson=_ndjson(),
    )


def _organization_full(org: Organisation, full_service: bool) -> dict:
    found = organisation_services(db.session, org)
    shape = hsds.service_full if full_service else hsds.service_summary
    return hsds.organization_full(org, [shape(s) for s in found])


@bp.get("/organizations/<organization_id>")
def organization(organization_id: str):
    key = parse_uuid(organization_id)
    org = key and db.session.scalar(sa.select(Organisation).where(Organisation.uuid == key))
    if not org:
        raise _not_found("organization")
    return jsonify(_organization_full(org, bool_arg("full_service")))


@bp.get("/taxonomies")
def taxonomies():
    paging = Paging.from_request()
    search = (text_arg("search") or "").lower()
    items = [hsds.taxonomy()] if search in hsds.TAXONOMY_NAME.lower() else []
    return listed(items, paging, _ndjson())


@bp.get("/taxonomies/<taxonomy_id>")
def taxonomy(taxonomy_id: str):
    if parse_uuid(taxonomy_id) != hsds.TAXONOMY_ID:
        raise _not_found("taxonomy")
    return jsonify(hsds.taxonomy())


@bp.get("/taxonomy_terms")
@limiter.limit(_list_limit)
def taxonomy_terms():
    paging = Paging.from_request()
    taxonomy_id = uuid_arg("taxonomy_id")
    parent_id = uuid_arg("parent_id")
    bool_arg("top_only")  # every term is at the top: the taxonomy is flat
    search = text_arg("search")
    ids = sa.select(ServiceType.id).order_by(ServiceType.sort_order, ServiceType.id)
    if (taxonomy_id is not None and taxonomy_id != hsds.TAXONOMY_ID) or parent_id is not None:
        ids = ids.where(sa.false())
    for word in (search or "").split():
        ids = ids.where(sa.func.lower(ServiceType.name).contains(word.lower(), autoescape=True))

    def load(page: list[int]) -> list[ServiceType]:
        query = sa.select(ServiceType).where(ServiceType.id.in_(page))
        found = {t.id: t for t in db.session.scalars(query)}
        return [found[i] for i in page]

    # In the taxonomy's own order, not by id: pages are found by number only.
    return listing(
        db.session,
        ids,
        load,
        hsds.taxonomy_term,
        paging,
        key=None,
        cursor=cursor_arg(timed=False),
        ndjson=_ndjson(),
    )


@bp.get("/taxonomy_terms/<term_id>")
def taxonomy_term(term_id: str):
    key = parse_uuid(term_id)
    term = key and db.session.scalar(sa.select(ServiceType).where(ServiceType.uuid == key))
    if not term:
        raise _not_found("taxonomy term")
    return jsonify(hsds.taxonomy_term(term))
