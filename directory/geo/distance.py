"""Distances on the WGS-84 ellipsoid, and a cheap bounding box to pre-filter candidates."""

from __future__ import annotations

import math

from geopy.distance import geodesic

# The smallest radius of curvature on WGS-84: the meridional radius at the equator, a(1 - e²), in km.
# Every curve on the ellipsoid is at least as long as the curve with the same (lat, lon) on a sphere of
# this radius, so a spherical cap of this radius contains every point within the geodesic radius.
_MIN_RADIUS_KM = 6335.439
_MARGIN = 1.001  # relative slack for rounding


def distance_km(a_lat: float, a_lon: float, b_lat: float, b_lon: float) -> float:
    """Geodesic (WGS-84) distance in kilometres between two points in decimal degrees."""
    return geodesic((a_lat, a_lon), (b_lat, b_lon)).km


def bounding_box(lat: float, lon: float, radius_km: float) -> tuple[float, float, float, float]:
    """``(min_lat, max_lat, min_lon, max_lon)`` containing every point within ``radius_km`` of the centre.

    Conservative (slightly larger than needed). Latitudes are clamped to ±90. When the circle reaches a
    pole or crosses the antimeridian the longitude range is the whole ``(-180, 180)``, so a plain
    ``min_lon <= lon <= max_lon`` filter stays correct.
    """
    if not (math.isfinite(lat) and math.isfinite(lon) and math.isfinite(radius_km)):
        raise ValueError("bounding_box needs finite numbers")
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise ValueError(f"coordinates out of range: {lat}, {lon}")
    if radius_km < 0:
        raise ValueError("radius_km must not be negative")
    angle = radius_km / _MIN_RADIUS_KM * _MARGIN + 1e-9
    dlat = math.degrees(angle)
    min_lat, max_lat = lat - dlat, lat + dlat
    if min_lat <= -90 or max_lat >= 90 or angle >= math.pi / 2:
        return max(min_lat, -90.0), min(max_lat, 90.0), -180.0, 180.0
    dlon = math.degrees(math.asin(min(1.0, math.sin(angle) / math.cos(math.radians(lat)))))
    min_lon, max_lon = lon - dlon, lon + dlon
    if min_lon < -180 or max_lon > 180:
        return min_lat, max_lat, -180.0, 180.0
    return min_lat, max_lat, min_lon, max_lon
