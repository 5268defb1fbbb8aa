"""The area map: a choropleth when boundaries are loaded, otherwise a circle per area at
its centre sized by referrals. Every area's colour, tooltip and label come from one
JSON array; text is placed with ``textContent``, never as markup."""

from __future__ import annotations

from dataclasses import dataclass

import folium
from branca.element import MacroElement
from jinja2 import Template

from ..directory.maps import json_for_script


@dataclass
class MapArea:
    name: str
    fill: str
    lines: list[str]  # tooltip: the first line is the area's name
    latitude: float
    longitude: float
    radius: float
    geometry: dict | None = None
    badge: str | None = None  # a permanent label, for suppressed and no-data areas
    own: bool = False  # the signed-in user's own area: a thick outline and "Your area"


class AreaLayer(MacroElement):
    _template = Template(
        """
        {% macro script(this, kwargs) %}
        (function () {
            var areas = {{ this.json }};
            var layer = L.featureGroup();
            function tooltip(lines) {
                var box = document.createElement('div');
                for (var i = 0; i < lines.length; i++) {
                    var el = document.createElement(i === 0 ? 'strong' : 'div');
                    el.textContent = lines[i];
                    box.appendChild(el);
                }
                return box;
            }
            areas.forEach(function (a) {
                var shape;
                if (a.geometry) {
                    shape = L.geoJSON(a.geometry, {style: {color: '#0b0c0c', weight: a.own ? 4 : 1,
                        fillColor: a.fill, fillOpacity: 0.85}});
                } else {
                    shape = L.circleMarker([a.latitude, a.longitude], {radius: a.radius,
                        color: '#0b0c0c', weight: a.own ? 4 : 1.5, fillColor: a.fill,
                        fillOpacity: 0.9});
                }
                shape.bindTooltip(tooltip(a.lines), {sticky: true});
                shape.addTo(layer);
                if (a.badge) {
                    var text = document.createElement('span');
                    text.className = 'area-badge';
                    text.textContent = a.badge;
                    L.marker([a.latitude, a.longitude], {interactive: false, keyboard: false,
                        icon: L.divIcon({className: 'area-label-icon', html: text.outerHTML,
                                         iconSize: null})}).addTo(layer);
                }
            });
            layer.addTo({{ this._parent.get_name() }});
            if (areas.length) {
                {{ this._parent.get_name() }}.fitBounds(layer.getBounds(), {padding: [10, 10]});
            }
        })();
        {% endmacro %}
        """
    )

    def __init__(self, areas: list[MapArea]):
        super().__init__()
        self._name = "AreaLayer"
        self.json = json_for_script(
            [
                {
                    "name": a.name,
                    "fill": a.fill,
                    "lines": a.lines,
                    "latitude": round(a.latitude, 4),
                    "longitude": round(a.longitude, 4),
                    "radius": round(a.radius, 1),
                    "geometry": a.geometry,
                    "badge": a.badge,
                    "own": a.own,
                }
                for a in areas
            ]
        )


def add_areas(m: folium.Map, areas: list[MapArea]) -> None:
    AreaLayer(areas).add_to(m)
