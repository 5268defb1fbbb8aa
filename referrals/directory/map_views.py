"""The services map page, and the map documents it and service pages show in frames."""

from __future__ import annotations

import sqlalchemy as sa
from flask import Response, current_app, render_template, request, url_for

from ..clock import now_local
from ..extensions import db
from ..geo import bounding_box, geodesic_km
from ..models import CouncilArea, Location, Service, ServiceType
from ..security import limiter
from . import bp
from .access import address_viewer
from .forms import SearchForm
from .geocoder import current_geocoder
from .locate import NotFound, Origin, locate
from .maps import (
    Assets,
    MarkerType,
    ServiceMarkers,
    area_labels,
    document,
    fit,
    new_map,
    text_colour,
)
from .search import filtered_locations
from .views import filters_from, load_service, query_with, type_choices


def map_assets() -> Assets:
    return Assets(
        leaflet_js=url_for("vendor.asset", package="leaflet", filename="leaflet.js"),
        leaflet_css=url_for("vendor.asset", package="leaflet", filename="leaflet.css"),
        cluster_js=url_for(
            "vendor.asset", package="leaflet-markercluster", filename="leaflet.markercluster.js"
        ),
        cluster_css=url_for(
            "vendor.asset", package="leaflet-markercluster", filename="MarkerCluster.css"
        ),
        cluster_default_css=url_for(
            "vendor.asset", package="leaflet-markercluster", filename="MarkerCluster.Default.css"
        ),
        map_css=url_for("static", filename="css/map.css"),
    )


def service_url_template() -> str:
    """The service page URL with ``{id}`` where the id goes, for the map's popups."""
    return url_for("directory.service_detail", service_id=987654321).replace("987654321", "{id}")


def map_document_response(html: str) -> Response:
    response = Response(html, mimetype="text/html")
    response.headers["X-Map-Document"] = "1"
    return response


def marker_types() -> tuple[list[MarkerType], dict[int, int]]:
    types = list(db.session.scalars(sa.select(ServiceType).order_by(ServiceType.sort_order)))
    index = {t.id: i for i, t in enumerate(types)}
    return [MarkerType(t.name, t.colour, t.abbreviation) for t in types], index


def map_rows(form: SearchForm, origin: Origin | None) -> list[list]:
    """One compact row per location of each matching active service:
    ``[lat, lon, type index, name, address, phone, service id]``."""
    filters = filters_from(form)
    viewer = address_viewer()
    query = filtered_locations(filters, now_local()).add_columns(
        Service.name,
        Service.phone,
        Service.primary_type_id,
        Location.address_1,
        Location.postcode,
    )
    if not viewer.everything:
        shown = ~Service.confidential_address
        if viewer.organisation_id is not None:
            shown = sa.or_(shown, Service.organisation_id == viewer.organisation_id)
        query = query.where(shown)
    if origin is not None:
        box = bounding_box(origin.latitude, origin.longitude, filters.radius_km)
        query = query.where(
            Location.latitude.between(box.south, box.north),
            Location.longitude.between(box.west, box.east),
        )
    rows = db.session.execute(query.order_by(Location.id)).all()
    _, type_index = marker_types()
    data = []
    for r in rows:
        if origin is not None and (
            geodesic_km(origin.latitude, origin.longitude, r.latitude, r.longitude)
            > filters.radius_km
        ):
            continue
        address = f"{r.address_1}, {r.town} {r.postcode}"
        if r.confidential_address:
            address += " (confidential address)"
        data.append(
            [
                round(r.latitude, 5),
                round(r.longitude, 5),
                type_index[r.primary_type_id],
                r.name,
                address,
                r.phone or "",
                r.service_id,
            ]
        )
    return data


def _form_and_origin():
    form = SearchForm(request.args)
    form.type.choices = type_choices()
    valid = form.validate() if request.args else True
    origin = None
    if valid and form.q.data:
        origin = locate(db.session, form.q.data, current_geocoder(current_app))
    return form, valid, origin


@bp.app_template_filter("badge_text")
def badge_text(colour: str) -> str:
    return text_colour(colour)


@bp.get("/map")
def services_map():
    form, valid, origin = _form_and_origin()
    count = None
    if valid and not isinstance(origin, NotFound):
        count = len({row[6] for row in map_rows(form, origin)})
    types, _ = marker_types()
    return (
        render_template(
            "directory/map.html",
            form=form,
            origin=origin,
            count=count,
            types=types,
            frame_query=query_with(page=None),
            query_with=query_with,
        ),
        200 if valid else 400,
    )


@bp.get("/map/frame")
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"])
def services_map_frame():
    form, valid, origin = _form_and_origin()
    assets = map_assets()
    config = current_app.config
    m = new_map(assets, config["MAP_TILES_URL"], config["MAP_TILES_ATTRIBUTION"])
    rows = []
    if valid and not isinstance(origin, NotFound):
        rows = map_rows(form, origin)
    types, _ = marker_types()
    if not config["MAP_TILES_URL"]:
        area_labels(m, council_centres())
    ServiceMarkers(rows, types, service_url_template(), assets).add_to(m)
    fit(m, [(r[0], r[1]) for r in rows])
    return map_document_response(document(m, f"Map of {len(rows)} service locations"))


def council_centres() -> list[tuple[str, float, float]]:
    return [
        (c.name, c.latitude, c.longitude)
        for c in db.session.scalars(sa.select(CouncilArea).order_by(CouncilArea.name))
    ]


@bp.get("/services/<int:service_id>/map")
def service_map_frame(service_id: int):
    service = load_service(service_id)
    assets = map_assets()
    config = current_app.config
    m = new_map(assets, config["MAP_TILES_URL"], config["MAP_TILES_ATTRIBUTION"], zoom=14)
    rows = []
    if address_viewer().reveals_service(service):
        types, index = marker_types()
        rows = [
            [
                round(loc.latitude, 5),
                round(loc.longitude, 5),
                index[service.primary_type_id],
                service.name,
                f"{loc.address_1}, {loc.town} {loc.postcode}",
                service.phone or "",
                service.id,
            ]
            for loc in service.locations
        ]
    else:
        types, _ = marker_types()
    ServiceMarkers(rows, types, service_url_template(), assets).add_to(m)
    fit(m, [(r[0], r[1]) for r in rows])
    return map_document_response(document(m, f"Map of {service.name}"))
