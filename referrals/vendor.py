"""Third-party browser assets (Leaflet and its marker-cluster plugin), served by the app
itself from their XStatic packages: no CDN, and the maps work with no internet."""

from __future__ import annotations

from flask import Blueprint, abort, send_from_directory
from xstatic.pkg import leaflet, leaflet_markercluster

bp = Blueprint("vendor", __name__, url_prefix="/vendor")

PACKAGES = {
    "leaflet": leaflet.BASE_DIR,
    "leaflet-markercluster": leaflet_markercluster.BASE_DIR,
}


@bp.get("/<package>/<path:filename>")
def asset(package: str, filename: str):
    folder = PACKAGES.get(package)
    if folder is None:
        abort(404)
    return send_from_directory(folder, filename, max_age=7 * 24 * 3600)
