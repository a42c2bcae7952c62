"""Geography: the offline Guangzhou gazetteer, place resolution, optional online geocoding, distances."""

from directory.geo.distance import bounding_box, distance_km
from directory.geo.gazetteer import KINDS, Gazetteer, GazetteerError, Place, default_gazetteer
from directory.geo.geocoder import (
    CoordinateError,
    GeoResult,
    OnlineGeocoder,
    get_geocoder,
    parse_coordinates,
    resolve_for_app,
    resolve_place,
)

__all__ = [
    "KINDS",
    "CoordinateError",
    "Gazetteer",
    "GazetteerError",
    "GeoResult",
    "OnlineGeocoder",
    "Place",
    "bounding_box",
    "default_gazetteer",
    "distance_km",
    "get_geocoder",
    "parse_coordinates",
    "resolve_for_app",
    "resolve_place",
]
