"""Which services are nearest a point, and exactly how far they are.

Distances shown and used for ordering are geodesics on the WGS84 ellipsoid. Every
candidate first gets a spherical distance (vectorised, within ``SPHERICAL_ERROR`` of the
geodesic), which bounds its geodesic from both sides. Where the bounds cannot decide
(near the edge of the radius, and among the contenders for the page shown), Vincenty's
ellipsoidal formula decides (vectorised; it agrees with geopy's geodesic to well under a
millimetre), and geopy's geodesic itself is computed only for the rare cases Vincenty
cannot settle: within a millimetre of the edge, of another candidate, or of a rounding
boundary of the figures shown, or nearly antipodal points, where it does not converge.

The distances people see are rounded to 0.1 km (1 km for the nearest service outside
the radius) and compared with whole kilometres (the wider search offered), so they
change only where a distance crosses a multiple of ``SHOWN_STEP_KM``: a Vincenty
distance farther than ``VINCENTY_MARGIN`` from every such multiple shows and compares
exactly as the geodesic does, and is shown; nearer one, the geodesic is.
"""

from __future__ import annotations

import math

import numpy as np

from ..geo import EARTH_RADIUS_KM, SPHERICAL_ERROR, geodesic_km

WGS84_A = 6378.137
WGS84_F = 1 / 298.257223563
WGS84_B = WGS84_A * (1 - WGS84_F)
# How far Vincenty's distance may be trusted to decide a comparison (km).
VINCENTY_MARGIN = 1e-6
# The distances shown round at odd multiples of 0.05 km (to 0.1 km), odd multiples of
# 0.5 km (to 1 km) and compare with whole kilometres: all multiples of this.
SHOWN_STEP_KM = 0.05


def spherical_km_array(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Haversine distances from (lat, lon) to each point, in km."""
    p0, p1 = math.radians(lat), np.radians(lats)
    a = (
        np.sin((p1 - p0) / 2) ** 2
        + math.cos(p0) * np.cos(p1) * np.sin((np.radians(lons) - math.radians(lon)) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.minimum(a, 1.0)))


def vincenty_km_array(lat: float, lon: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Vincenty's inverse formula on WGS84 from (lat, lon) to each point, in km; NaN
    where it does not converge (nearly antipodal points)."""
    f, a, b = WGS84_F, WGS84_A, WGS84_B
    u1 = math.atan((1 - f) * math.tan(math.radians(lat)))
    u2 = np.arctan((1 - f) * np.tan(np.radians(lats)))
    sin_u1, cos_u1, sin_u2, cos_u2 = math.sin(u1), math.cos(u1), np.sin(u2), np.cos(u2)
    big_l = np.radians(lons - lon)
    lam, previous = big_l.copy(), np.full_like(big_l, np.inf)
    with np.errstate(invalid="ignore", divide="ignore"):
        for _ in range(50):
            sin_lam, cos_lam = np.sin(lam), np.cos(lam)
            sin_sigma = np.hypot(cos_u2 * sin_lam, cos_u1 * sin_u2 - sin_u1 * cos_u2 * cos_lam)
            cos_sigma = sin_u1 * sin_u2 + cos_u1 * cos_u2 * cos_lam
            sigma = np.arctan2(sin_sigma, cos_sigma)
            sin_alpha = np.where(sin_sigma == 0, 0.0, cos_u1 * cos_u2 * sin_lam / sin_sigma)
            cos2_alpha = 1 - sin_alpha**2
            cos_2sm = np.where(cos2_alpha == 0, 0.0, cos_sigma - 2 * sin_u1 * sin_u2 / cos2_alpha)
            c = f / 16 * cos2_alpha * (4 + f * (4 - 3 * cos2_alpha))
            previous, lam = (
                lam,
                big_l
                + (1 - c)
                * f
                * sin_alpha
                * (sigma + c * sin_sigma * (cos_2sm + c * cos_sigma * (-1 + 2 * cos_2sm**2))),
            )
            if np.all(np.abs(lam - previous) < 1e-12):
                break
        u_sq = cos2_alpha * (a * a - b * b) / (b * b)
        big_a = 1 + u_sq / 16384 * (4096 + u_sq * (-768 + u_sq * (320 - 175 * u_sq)))
        big_b = u_sq / 1024 * (256 + u_sq * (-128 + u_sq * (74 - 47 * u_sq)))
        delta = (
            big_b
            * sin_sigma
            * (
                cos_2sm
                + big_b
                / 4
                * (
                    cos_sigma * (-1 + 2 * cos_2sm**2)
                    - big_b / 6 * cos_2sm * (-3 + 4 * sin_sigma**2) * (-3 + 4 * cos_2sm**2)
                )
            )
        )
        distance = b * big_a * (sigma - delta)
    return np.where(np.abs(lam - previous) < 1e-12, distance, np.nan)


def _nearest_first(distance: np.ndarray) -> np.ndarray:
    """The order of ``distance`` from least to greatest, equal distances in the order
    given: a quicksort, with the few exact ties (services at one address) put back in
    order, costs a fifth of a stable sort."""
    order = np.argsort(distance)
    ordered = distance[order]
    tied = np.flatnonzero(ordered[1:] == ordered[:-1]).tolist()
    start = None
    for n, i in enumerate(tied):
        start = i if start is None else start
        if n + 1 == len(tied) or tied[n + 1] != i + 1:
            order[start : i + 2].sort()
            start = None
    return order


class Ranking:
    """Services ranked by their location nearest (lat, lon), from arrays of location
    ids, service ids, latitudes and longitudes (one entry per location)."""

    def __init__(self, lat, lon, ids, services, lats, lons):
        self.lat, self.lon = lat, lon
        distance = spherical_km_array(lat, lon, lats, lons)
        # Each service's nearest location: the least distance among its rows, grouped by
        # service id (the rows arrive nearly in that order, which the stable sort likes).
        by_service = np.argsort(services, kind="stable")
        grouped = services[by_service]
        starts = np.flatnonzero(np.concatenate(([True], grouped[1:] != grouped[:-1])))
        service_ids, nearest = grouped[starts], np.minimum.reduceat(distance[by_service], starts)
        order = _nearest_first(nearest)
        self.service_ids = service_ids[order]
        self.spherical = nearest[order]
        self._ids, self._services, self._lats, self._lons = ids, services, lats, lons
        # row -> Vincenty km (the geodesic where Vincenty does not converge), each
        # worked out once: the edge of the radius and the page may share some.
        self._vincenty: dict[int, float] = {}
        # Services whose two nearest locations Vincenty cannot tell apart.
        self._tied: set[int] = set()
        # service id -> (km, id of its nearest location) for the services shown: the
        # geodesic, or Vincenty's where it shows and compares the same (see above)
        self.exact: dict[int, tuple[float, int]] = {}

    def _ellipsoidal(self, service_ids) -> dict[int, tuple[float, int]]:
        """Each service's nearest location by Vincenty: (km, location id)."""
        rows = np.flatnonzero(np.isin(self._services, np.asarray(service_ids))).tolist()
        known = self._vincenty
        new = [row for row in rows if row not in known]
        if new:
            found = vincenty_km_array(self.lat, self.lon, self._lats[new], self._lons[new])
            for row, km in zip(new, found.tolist(), strict=True):
                if math.isnan(km):
                    km = geodesic_km(self.lat, self.lon, self._lats[row], self._lons[row])
                known[row] = km
        best: dict[int, tuple[float, int]] = {}
        for row in rows:
            sid, candidate = int(self._services[row]), (known[row], int(self._ids[row]))
            held = best.get(sid)
            if held is not None and abs(held[0] - candidate[0]) <= VINCENTY_MARGIN:
                self._tied.add(sid)
            if held is None or candidate < held:
                best[sid] = candidate
        return best

    def _shown(self, service_id: int, close: dict[int, tuple[float, int]]) -> None:
        """Puts the service's distance and nearest location in ``exact``: Vincenty's,
        unless it cannot settle which location is nearest or how the figure shows."""
        if service_id in self.exact:
            return
        km = close[service_id][0]
        step = round(km / SHOWN_STEP_KM) * SHOWN_STEP_KM
        if service_id in self._tied or abs(km - step) <= VINCENTY_MARGIN:
            self._geodesic(service_id)
        else:
            self.exact[service_id] = close[service_id]

    def _geodesic(self, service_id: int) -> tuple[float, int]:
        if service_id not in self.exact:
            self.exact[service_id] = min(
                (geodesic_km(self.lat, self.lon, self._lats[i], self._lons[i]), int(self._ids[i]))
                for i in np.flatnonzero(self._services == service_id)
            )
        return self.exact[service_id]

    def within(self, radius: float, then: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Ids of the services within ``radius`` km by the geodesic, nearest first by
        the spherical distance, with those distances. ``then``: the end of the page to
        be asked for next, whose contenders are measured with the edge of the radius in
        one go (each measuring has a cost of its own, whatever its size)."""
        keep = self.spherical * (1 + SPHERICAL_ERROR) <= radius
        edge = np.flatnonzero((self.spherical * (1 - SPHERICAL_ERROR) <= radius) & ~keep)
        if len(edge):
            measure = self.service_ids[edge]
            # Those surely inside come first: when they fill the page, its contenders
            # are among the services nearer than its end's upper bound.
            if 0 < then <= np.count_nonzero(keep):
                threshold = self.spherical[then - 1] * (1 + SPHERICAL_ERROR)
                lower = self.spherical * (1 - SPHERICAL_ERROR)
                count = int(np.searchsorted(lower, threshold, "right"))
                measure = np.concatenate((self.service_ids[:count], measure))
            close = self._ellipsoidal(measure)
            for i in edge:
                sid = int(self.service_ids[i])
                km = close[sid][0]
                if abs(km - radius) <= VINCENTY_MARGIN:
                    km = self._geodesic(sid)[0]
                keep[i] = km <= radius
        return self.service_ids[keep], self.spherical[keep]

    def page(self, service_ids: np.ndarray, spherical: np.ndarray, start: int, end: int):
        """Ids of the services from ``start`` to ``end`` in geodesic order (ties by id);
        their distances (as the geodesic's to the figures shown) are then in ``exact``."""
        total = len(service_ids)
        if start >= total:
            return []
        # Only services whose lower bound is below the end-th smallest upper bound can
        # be among the first ``end``.
        threshold = spherical[min(end, total) - 1] * (1 + SPHERICAL_ERROR)
        count = int(np.searchsorted(spherical * (1 - SPHERICAL_ERROR), threshold, "right"))
        close = self._ellipsoidal(service_ids[:count])
        ranked = sorted(close, key=lambda sid: (close[sid][0], sid))
        # Where Vincenty cannot tell two apart, the geodesic orders them.
        key = {
            sid: (self._geodesic(sid)[0], sid)
            for i, sid in enumerate(ranked)
            if any(
                abs(close[sid][0] - close[other][0]) <= VINCENTY_MARGIN
                for other in ranked[max(0, i - 1) : i + 2]
                if other != sid
            )
        }
        ranked.sort(key=lambda sid: key.get(sid, (close[sid][0], sid)))
        chosen = ranked[start:end]
        for sid in chosen:
            self._shown(sid, close)
        return chosen
