"""The optional online geocoder (``GEOCODER=nominatim``), through geopy.

Off by default: the app works with no network. When on, it is asked only for places the
shipped tables do not know, with a timeout, and answers are remembered for the process.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import lru_cache

from flask import Flask
from geopy.exc import GeopyError
from geopy.geocoders import Nominatim

GeocodeResult = tuple[float, float, str]
Geocoder = Callable[[str], GeocodeResult | None]
EXTENSION_KEY = "referrals.geocoder"


class GeocoderFailed(RuntimeError):
    """The online geocoder did not answer (timeout, network, refusal)."""


def nominatim(user_agent: str, timeout: float) -> Geocoder:
    service = Nominatim(user_agent=user_agent, timeout=timeout)

    @lru_cache(maxsize=2048)
    def geocode(query: str) -> GeocodeResult | None:
        try:
            found = service.geocode(query, exactly_one=True, country_codes="gb")
        except (GeopyError, OSError) as exc:
            raise GeocoderFailed(str(exc)) from exc
        if found is None:
            return None
        return found.latitude, found.longitude, found.address

    return geocode


def init_app(app: Flask) -> None:
    name = app.config.get("GEOCODER", "")
    if name == "nominatim":
        app.extensions[EXTENSION_KEY] = nominatim(
            app.config["GEOCODER_USER_AGENT"], app.config["GEOCODER_TIMEOUT"]
        )
    elif name:
        raise ValueError(f"GEOCODER must be empty (off) or 'nominatim', not {name!r}")
    else:
        app.extensions[EXTENSION_KEY] = None


def current_geocoder(app: Flask) -> Geocoder | None:
    return app.extensions.get(EXTENSION_KEY)
