"""The services map: the page, the markers for each view as JSON, and the small map
documents a service page shows in a frame.

The page itself carries no services: its script asks ``/map/markers.json`` for what is
inside the visible box at the current zoom (clustered on the server), again after every
pan or zoom. Without JavaScript the page offers the same search as a list.
"""

from __future__ import annotations

import json

from flask import Response, abort, current_app, jsonify, render_template, request, url_for

from ..attributions import BOUNDARIES, POSTCODES
from ..clock import now_local
from ..extensions import db
from ..outlines import OUTLINE, outline
from ..security import limiter
from . import bp
from .access import address_viewer
from .finding import with_query
from .forms import SearchForm
from .gazetteer import Gazetteer
from .geocoder import current_geocoder
from .hours import open_now_holiday_note
from .locate import NotFound, Origin, locate
from .map_page import area_extent, council_areas, extent_of, stored
from .maps import Assets, MarkerType, ServiceMarkers, document, fit, new_map, text_colour
from .query import Understood, understand
from .search import DEFAULT_RADIUS_KM
from .taxonomy import TypeRow, service_types
from .viewport import Circle, View, markers_in_view, zoom_for_radius
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


def marker_types(
    types: list[TypeRow] | None = None,
) -> tuple[list[MarkerType], dict[int, int]]:
    """The map's key, and each type id's place in it (``types`` if already read)."""
    types = types if types is not None else service_types(db.session)
    index = {t.id: i for i, t in enumerate(types)}
    return [MarkerType(t.name, t.colour, t.abbreviation) for t in types], index


def _form_and_origin(types: list[TypeRow]):
    form = SearchForm(request.args)
    form.type.choices = type_choices(types)
    valid = form.validate() if request.args else True
    origin, understood = None, Understood()
    if valid and form.q.data:
        gazetteer = Gazetteer(db.session)
        understood = understand(db.session, form.q.data, types=types, gazetteer=gazetteer)
        if understood.place:
            origin = locate(db.session, understood.place, current_geocoder(current_app), gazetteer)
    return form, valid, origin, understood


@bp.app_template_filter("badge_text")
def badge_text(colour: str) -> str:
    return text_colour(colour)


def _map_settings(
    form: SearchForm, origin: Origin | None, types: list[MarkerType], extras: dict[str, str]
) -> dict:
    """Everything the page's script needs, as plain data for a data attribute."""
    config = current_app.config
    filters = query_with(page=None)
    settings = {
        "markers": url_for("directory.map_markers") + (f"?{filters}" if filters else ""),
        "serviceUrl": service_url_template(),
        "tiles": config["MAP_TILES_URL"],
        "tilesAttribution": config["MAP_TILES_ATTRIBUTION"],
        "types": [
            {
                "name": t.name,
                "colour": t.colour,
                "text": text_colour(t.colour),
                "abbr": t.abbreviation,
            }
            for t in types
        ],
    }
    if config["MAP_TILES_URL"]:
        settings["extent"] = area_extent(db.session)
    else:
        areas = council_areas(db.session)
        settings["extent"] = extent_of(areas)
        settings["areas"] = [[a.name, round(a.latitude, 4), round(a.longitude, 4)] for a in areas]
        if OUTLINE in extras:
            settings["outlines"] = url_for("directory.map_outlines")
    if origin is not None:
        radius = form.radius_km.data or DEFAULT_RADIUS_KM
        settings["origin"] = {
            "lat": origin.latitude,
            "lon": origin.longitude,
            "label": origin.label,
            "radiusKm": radius,
            "zoom": zoom_for_radius(radius),
        }
    return settings


def _map_extras(origin: Origin | None) -> dict[str, str]:
    """The stored outline and attributions this map may draw."""
    keys = []
    if origin is not None and origin.exact_postcode:
        keys.append(POSTCODES)
    if not current_app.config["MAP_TILES_URL"]:
        keys += [OUTLINE, BOUNDARIES]
    return stored(db.session, keys)


def _data_attributions(origin: Origin | None, extras: dict[str, str]) -> list[str]:
    """Attribution for the loaded open data this map draws."""
    shown = []
    if origin is not None and origin.exact_postcode:
        shown.append(extras.get(POSTCODES))
    if not current_app.config["MAP_TILES_URL"] and OUTLINE in extras:
        shown.append(extras.get(BOUNDARIES))
    return [text for text in shown if text]


@bp.get("/map")
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"])
def services_map():
    rows = service_types(db.session)
    form, valid, origin, understood = _form_and_origin(rows)
    located = origin if isinstance(origin, Origin) else None
    types, _ = marker_types(rows)
    extras = _map_extras(located)
    settings = _map_settings(form, located, types, extras)
    settings["dataAttributions"] = data_attributions = _data_attributions(located, extras)
    settings["what"] = understood.what
    return (
        render_template(
            "directory/map.html",
            form=form,
            origin=origin,
            what=understood.what,
            show_map=valid and not isinstance(origin, NotFound),
            open_now_note=(
                open_now_holiday_note(now_local().date()) if form.open_now.data else None
            ),
            settings=json.dumps(settings, separators=(",", ":")),
            data_attributions=data_attributions,
            types=types,
            query_with=query_with,
            leaflet_js=url_for("vendor.asset", package="leaflet", filename="leaflet.js"),
            leaflet_css=url_for("vendor.asset", package="leaflet", filename="leaflet.css"),
        ),
        200 if valid else 400,
    )


def _view_from(args) -> View:
    try:
        west, south, east, north = (float(v) for v in args.get("bbox", "").split(","))
        zoom = int(args.get("zoom", ""))
    except ValueError:
        abort(400, "Give bbox=west,south,east,north and zoom.")
    if not (-90 <= south <= north <= 90 and -180 <= west <= east <= 180 and 0 <= zoom <= 22):
        abort(400, "The bbox or zoom is out of range.")
    return View(south, west, north, east, zoom)


def _circle_from(args, form: SearchForm) -> Circle | None:
    if "lat" not in args and "lon" not in args:
        return None
    try:
        lat, lon = float(args["lat"]), float(args["lon"])
    except (KeyError, ValueError):
        abort(400, "Give both lat and lon as numbers.")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        abort(400, "lat or lon is out of range.")
    return Circle(lat, lon, form.radius_km.data or DEFAULT_RADIUS_KM)


@bp.get("/map/markers.json")
@limiter.limit(lambda: current_app.config["SEARCH_RATE_LIMIT"])
def map_markers():
    """The markers and clusters inside ``bbox`` at ``zoom`` for the filters (and within
    ``radius_km`` of ``lat``,``lon`` when given)."""
    types = service_types(db.session)
    form = SearchForm(request.args)
    form.type.choices = type_choices(types)
    if not form.validate():
        problems = [e for errors in form.errors.values() for e in errors]
        return jsonify({"error": " ".join(problems)}), 400
    view = _view_from(request.args)
    filters = filters_from(form)
    if form.q.data:
        filters = with_query(filters, understand(db.session, form.q.data, types=types))
    data = markers_in_view(
        db.session,
        view,
        filters,
        now_local=now_local(),
        viewer=address_viewer(),
        stale_after_days=current_app.config["STALE_AFTER_DAYS"],
        circle=_circle_from(request.args, form),
        type_ids=[t.id for t in types],
    )
    response = jsonify(data)
    response.headers["Cache-Control"] = "private, max-age=60"
    return response


@bp.get("/map/outlines.json")
def map_outlines():
    """Council area outlines (light, for a map without background tiles)."""
    text = outline(db.session)
    if text is None:
        abort(404)
    response = Response(text, mimetype="application/geo+json")
    response.headers["Cache-Control"] = "public, max-age=3600"
    return response


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
