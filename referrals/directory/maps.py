"""Folium maps of services, as standalone documents shown in a frame.

Leaflet and its plugins load from the app (``/vendor/...``), tiles from the configured
URL (none when it is empty). Services go to the page as one compact JSON array drawn by
one small script, not a script block per marker. Every text that reaches the map is
placed with ``textContent`` or as JSON escaped for HTML, never as markup.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import folium
from branca.element import MacroElement
from folium.plugins import FastMarkerCluster
from jinja2 import Template
from markupsafe import escape

SCOTLAND_CENTRE = (56.8, -4.2)


@dataclass(frozen=True)
class Assets:
    """Where the browser gets Leaflet and the cluster plugin (URLs served by the app)."""

    leaflet_js: str
    leaflet_css: str
    cluster_js: str
    cluster_css: str
    cluster_default_css: str
    map_css: str


@dataclass(frozen=True)
class MarkerType:
    name: str
    colour: str
    abbreviation: str


def text_colour(background: str) -> str:
    """Black or white, whichever reads better on ``background`` (#RRGGBB)."""
    r, g, b = (int(background[i : i + 2], 16) / 255 for i in (1, 3, 5))

    def linear(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4

    luminance = 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
    return "#000000" if (luminance + 0.05) / 0.05 > 1.05 / (luminance + 0.05) else "#FFFFFF"


def json_for_script(value: object) -> str:
    """JSON safe to place inside a <script> element (no </script>, no HTML)."""
    return (
        json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        .replace("<", "\\u003c")
        .replace(">", "\\u003e")
        .replace("&", "\\u0026")
        .replace("\u2028", "\\u2028")
        .replace("\u2029", "\\u2029")
    )


def new_map(
    assets: Assets,
    tiles_url: str,
    attribution: str,
    *,
    location: tuple[float, float] = SCOTLAND_CENTRE,
    zoom: int = 7,
) -> folium.Map:
    m = folium.Map(location=location, zoom_start=zoom, tiles=None, control_scale=True)
    m.options["maxZoom"] = 19  # needed by the cluster plugin when there are no tiles
    m.options["minZoom"] = 4
    m.default_js = [("leaflet", assets.leaflet_js)]
    m.default_css = [("leaflet_css", assets.leaflet_css), ("map_css", assets.map_css)]
    if tiles_url:
        folium.TileLayer(tiles=tiles_url, attr=attribution, name="Map", max_zoom=19).add_to(m)
    return m


def document(m: folium.Map, title: str) -> str:
    """The map as a complete HTML document with a title and language, zoomable on phones."""
    html = m.get_root().render()
    html = html.replace("<html>", '<html lang="en-GB">', 1)
    html = html.replace("<head>", f"<head>\n    <title>{escape(title)}</title>", 1)
    html = html.replace(
        "initial-scale=1.0, maximum-scale=1.0, user-scalable=no", "initial-scale=1.0"
    )
    return html


# The marker for one service: a round badge in its type's colour with the type's
# abbreviation (so colour is not the only clue), and a popup built from text nodes.
MARKER_CALLBACK = """function (row) {
    var kind = TYPES[row[2]];
    var badge = document.createElement('span');
    badge.className = 'svc-badge';
    badge.style.background = kind.colour;
    badge.style.color = kind.text;
    badge.textContent = kind.abbreviation;
    var icon = L.divIcon({className: 'svc-marker', html: badge.outerHTML,
                          iconSize: [30, 30], iconAnchor: [15, 15], popupAnchor: [0, -12]});
    var marker = L.marker(new L.LatLng(row[0], row[1]),
                          {icon: icon, title: row[3] + ' (' + kind.name + ')', keyboard: true});
    marker.bindPopup(function () {
        var box = document.createElement('div');
        box.className = 'svc-popup';
        function line(tag, text) {
            var el = document.createElement(tag);
            el.textContent = text;
            box.appendChild(el);
            return el;
        }
        line('strong', row[3]);
        line('div', kind.name);
        if (row[4]) { line('div', row[4]); }
        if (row[5]) { line('div', 'Phone: ' + row[5]); }
        var link = line('a', 'View the service');
        link.href = SERVICE_URL.replace('{id}', String(row[6]));
        link.target = '_top';
        return box;
    });
    return marker;
}"""


class ServiceMarkers(FastMarkerCluster):
    """A cluster of service markers drawn in the browser from one data array."""

    def __init__(
        self,
        rows: list[list],
        types: list[MarkerType],
        service_url: str,
        assets: Assets,
    ):
        table = [
            {
                "name": t.name,
                "colour": t.colour,
                "text": text_colour(t.colour),
                "abbreviation": t.abbreviation,
            }
            for t in types
        ]
        callback = (
            f"(function () {{ var TYPES = {json_for_script(table)}; "
            f"var SERVICE_URL = {json_for_script(service_url)}; "
            f"return {MARKER_CALLBACK}; }})()"
        )
        super().__init__(
            rows,
            callback=callback,
            name="Services",
            showCoverageOnHover=False,
            maxClusterRadius=45,
        )
        self.default_js = [("markerclusterjs", assets.cluster_js)]
        self.default_css = [
            ("markerclustercss", assets.cluster_css),
            ("markerclusterdefaultcss", assets.cluster_default_css),
        ]


def fit(m: folium.Map, points: list[tuple[float, float]]) -> None:
    if not points:
        return
    lats = [p[0] for p in points]
    lons = [p[1] for p in points]
    if max(lats) - min(lats) < 0.01 and max(lons) - min(lons) < 0.01:
        m.location = [lats[0], lons[0]]
        m.options["zoom"] = 14
        return
    m.fit_bounds([[min(lats), min(lons)], [max(lats), max(lons)]], padding=(20, 20))


class AreaLabels(MacroElement):
    """Area names at their centres, from one data array, placed as text (orientation
    when the map has no background tiles)."""

    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var labels = {{ this.json }};
            for (var i = 0; i < labels.length; i++) {
                var text = document.createElement('span');
                text.className = 'area-label';
                text.textContent = labels[i][0];
                L.marker([labels[i][1], labels[i][2]], {
                    icon: L.divIcon({className: 'area-label-icon', html: text.outerHTML,
                                     iconSize: null}),
                    interactive: false, keyboard: false
                }).addTo({{ this._parent.get_name() }});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, areas: list[tuple[str, float, float]]):
        super().__init__()
        self._name = "AreaLabels"
        self.json = json_for_script(
            [[name, round(lat, 4), round(lon, 4)] for name, lat, lon in areas]
        )


def area_labels(m: folium.Map, areas: list[tuple[str, float, float]]) -> None:
    AreaLabels(areas).add_to(m)
