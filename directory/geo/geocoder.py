"""Turn what a user typed into a point: coordinates, an offline gazetteer place, or (optionally) online.

``resolve_place`` never raises for user input: anything it cannot resolve comes back as an unresolved
:class:`GeoResult` with a message and suggestions. The online geocoder is off unless ``GEOCODER`` names
a service; the offline default never touches the network.
"""

from __future__ import annotations

import logging
import re
import threading
from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flask import Flask, current_app
from flask_babel import gettext as _
from geopy.exc import GeocoderNotFound
from geopy.extra.rate_limiter import RateLimiter
from geopy.geocoders import Nominatim, get_geocoder_for_service

from directory.geo.gazetteer import CITY_NAMES, Gazetteer, default_gazetteer, normalize

log = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 200
MAX_SUGGESTIONS = 5
# Rough box around Guangdong province: online results outside it are rejected.
GUANGDONG_BOUNDS = (20.0, 26.0, 109.0, 118.0)  # min_lat, max_lat, min_lon, max_lon
OFFLINE_NAMES = frozenset({"", "offline", "none", "off", "false", "0"})

_NUMBER = r"[-+]?(?:\d+(?:\.\d*)?|\.\d+)"
_COORDINATES = re.compile(rf"^\(?\s*({_NUMBER})\s*(?:[,，;；]\s*|\s+)({_NUMBER})\s*\)?$")
# Text made only of these characters is taken as an attempt at coordinates.
_COORDINATE_CHARS = re.compile(r"^[\d\s.,，;；+\-()°]+$")


@dataclass(frozen=True)
class GeoResult:
    """A resolved point, or (``resolved`` false) a message and suggested place names.

    ``source`` is "coordinates", "gazetteer" or "online"; ``kind`` is the gazetteer kind
    (district, subdistrict, town, community, metro, landmark), "point" for coordinates, "address" for online results.
    ``reason`` says why a result is unresolved: empty, too_long, invalid_coordinates, not_found,
    outside_region or service_error.
    """

    query: str
    resolved: bool
    name: str | None = None
    latitude: float | None = None
    longitude: float | None = None
    district: str | None = None
    street: str | None = None  # the 街道/镇 the place lies in, when the gazetteer knows it
    kind: str | None = None
    source: str | None = None
    message: str | None = None
    reason: str | None = None
    suggestions: tuple[str, ...] = ()

    @property
    def point(self) -> tuple[float, float] | None:
        if self.latitude is None or self.longitude is None:
            return None
        return self.latitude, self.longitude

    @classmethod
    def unresolved(cls, query: str, reason: str, message: str, suggestions: tuple[str, ...] = ()) -> GeoResult:
        return cls(query=query, resolved=False, reason=reason, message=message, suggestions=suggestions)


class CoordinateError(ValueError):
    """Text that looks like coordinates but is not valid; the message is fit to show to the user."""


def parse_coordinates(text: str) -> tuple[float, float]:
    """Parse "lat,lon" ("23.13,113.32", "23.13, 113.32", "23.13 113.32"); raise CoordinateError."""
    match = _COORDINATES.match(text.strip())
    if not match:
        raise CoordinateError(_("Coordinates need a latitude and a longitude, like 23.13,113.32 (latitude first)."))
    lat, lon = float(match.group(1)), float(match.group(2))
    if -90 <= lat <= 90 and -180 <= lon <= 180:
        return lat, lon
    if -90 <= lon <= 90 and -180 <= lat <= 180:
        raise CoordinateError(
            _(
                "Latitude must be between -90 and 90. Did you mean %(lat)s,%(lon)s (latitude first)?",
                lat=match.group(2),
                lon=match.group(1),
            )
        )
    if not -90 <= lat <= 90:
        raise CoordinateError(_("Latitude must be between -90 and 90, got %(value)s.", value=match.group(1)))
    raise CoordinateError(_("Longitude must be between -180 and 180, got %(value)s.", value=match.group(2)))


def in_guangdong(lat: float, lon: float) -> bool:
    min_lat, max_lat, min_lon, max_lon = GUANGDONG_BOUNDS
    return min_lat <= lat <= max_lat and min_lon <= lon <= max_lon


@dataclass(frozen=True)
class _Hit:
    address: str
    latitude: float
    longitude: float


class OnlineGeocoder:
    """A geopy geocoder behind a rate limiter (≥ 1 s between requests) and an in-memory LRU cache.

    :meth:`geocode` never raises: network and service errors become unresolved results.
    """

    def __init__(
        self,
        geocoder: Any,
        *,
        service: str,
        geocode_kwargs: Mapping[str, Any] | None = None,
        min_delay_seconds: float = 1.0,
        cache_size: int = 256,
    ) -> None:
        self.service = service
        self.geocoder = geocoder
        self._geocode_kwargs = dict(geocode_kwargs or {})
        min_delay = max(1.0, float(min_delay_seconds))
        self._rate_limited = RateLimiter(
            geocoder.geocode,
            min_delay_seconds=min_delay,
            max_retries=0,
            error_wait_seconds=min_delay,
            swallow_exceptions=False,
        )
        self._cache: OrderedDict[str, _Hit | None] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def _cached(self, key: str) -> tuple[bool, _Hit | None]:
        with self._lock:
            if key in self._cache:
                self._cache.move_to_end(key)
                return True, self._cache[key]
        return False, None

    def _remember(self, key: str, hit: _Hit | None) -> None:
        with self._lock:
            self._cache[key] = hit
            self._cache.move_to_end(key)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def geocode(self, text: str) -> GeoResult:
        query = " ".join(text.split())
        key = normalize(query)
        found, hit = self._cached(key)
        if not found:
            try:
                location = self._rate_limited(query, exactly_one=True, **self._geocode_kwargs)
            except Exception:  # geopy errors, timeouts, malformed replies: report, never raise
                log.warning("online geocoder %s failed for %r", self.service, query, exc_info=True)
                return GeoResult.unresolved(
                    text,
                    "service_error",
                    _(
                        "The online map service could not be reached; try a district, street or metro station "
                        "name, or coordinates."
                    ),
                )
            hit = None
            if location is not None:
                hit = _Hit(str(location.address), float(location.latitude), float(location.longitude))
            self._remember(key, hit)
        if hit is None:
            return GeoResult.unresolved(text, "not_found", _("No place called “%(query)s” was found.", query=text))
        if not in_guangdong(hit.latitude, hit.longitude):
            return GeoResult.unresolved(
                text,
                "outside_region",
                _("“%(query)s” was found outside Guangdong (%(address)s).", query=text, address=hit.address),
            )
        return GeoResult(
            query=text,
            resolved=True,
            name=hit.address,
            latitude=hit.latitude,
            longitude=hit.longitude,
            kind="address",
            source="online",
        )


_geocoders: dict[tuple, OnlineGeocoder] = {}
_geocoders_lock = threading.Lock()


def get_geocoder(app_config: Mapping[str, Any]) -> OnlineGeocoder | None:
    """The online geocoder named by ``GEOCODER``, or None for the offline default.

    ``GEOCODER="nominatim"`` needs ``GEOCODER_USER_AGENT``; optional ``GEOCODER_DOMAIN``,
    ``GEOCODER_SCHEME``, ``GEOCODER_TIMEOUT`` (seconds). Any other geopy service name is built with
    ``GEOCODER_OPTIONS`` (a dict of constructor arguments). One instance (rate limiter and cache) is
    shared per configuration. Raises ValueError for a misconfiguration.
    """
    service = str(app_config.get("GEOCODER") or "").strip().lower()
    if service in OFFLINE_NAMES:
        return None
    timeout = _seconds(app_config, "GEOCODER_TIMEOUT", 5)
    min_delay = _seconds(app_config, "GEOCODER_MIN_DELAY", 1.0)
    user_agent = app_config.get("GEOCODER_USER_AGENT")
    raw_options = app_config.get("GEOCODER_OPTIONS") or {}
    if not isinstance(raw_options, Mapping):
        raise ValueError("GEOCODER_OPTIONS must be a dict (a JSON object in the environment)")
    options: dict[str, Any] = dict(raw_options)
    if service == "nominatim":
        if not user_agent:
            raise ValueError(
                "GEOCODER=nominatim needs GEOCODER_USER_AGENT, a name for this installation with a contact "
                "(Nominatim's usage policy), e.g. 'lianjie-guangzhou (admin@example.org)'"
            )
        scheme = str(app_config.get("GEOCODER_SCHEME") or "https").lower()
        if scheme not in ("http", "https"):
            raise ValueError(f"GEOCODER_SCHEME must be https or http, not {scheme!r}")
        options.update(
            user_agent=str(user_agent),
            domain=str(app_config.get("GEOCODER_DOMAIN") or "nominatim.openstreetmap.org"),
            scheme=scheme,
        )
    elif user_agent:
        options.setdefault("user_agent", str(user_agent))
    options.setdefault("timeout", timeout)
    cache_key = (service, min_delay, tuple(sorted((k, repr(v)) for k, v in options.items())))
    with _geocoders_lock:
        geocoder = _geocoders.get(cache_key)
        if geocoder is None:
            geocoder = _geocoders[cache_key] = _build(service, options, min_delay)
    return geocoder


def _seconds(app_config: Mapping[str, Any], key: str, default: float) -> float:
    raw = app_config.get(key)
    if raw is None or raw == "":
        return float(default)
    try:
        value = float(raw)
    except (TypeError, ValueError):
        raise ValueError(f"{key} must be a number of seconds, not {raw!r}") from None
    if not 0 < value < 3600:
        raise ValueError(f"{key} must be a number of seconds above 0, not {raw!r}")
    return value


def check_geocoder_config(app_config: Mapping[str, Any]) -> None:
    """Build the configured geocoder once at start: a misconfiguration stops the app with a clear message
    instead of answering 500 to every place search. No request is sent."""
    try:
        get_geocoder(app_config)
    except ValueError as exc:
        raise RuntimeError(
            f"Geocoder settings: {exc}. See 'Online geocoding' in docs/operations.md "
            "(GEOCODER=offline, the default, needs nothing else)."
        ) from exc


def _build(service: str, options: dict[str, Any], min_delay: float) -> OnlineGeocoder:
    if service == "nominatim":
        min_lat, max_lat, min_lon, max_lon = GUANGDONG_BOUNDS
        return OnlineGeocoder(
            Nominatim(**options),
            service=service,
            min_delay_seconds=min_delay,
            geocode_kwargs={
                "country_codes": "cn",
                "viewbox": [(min_lat, min_lon), (max_lat, max_lon)],
                "bounded": True,
                "language": "zh-CN,zh,en",
            },
        )
    try:
        geocoder_class = get_geocoder_for_service(service)
    except GeocoderNotFound as exc:
        raise ValueError(f"unknown GEOCODER {service!r}: use 'offline' or a geopy service name") from exc
    try:
        return OnlineGeocoder(geocoder_class(**options), service=service, min_delay_seconds=min_delay)
    except TypeError as exc:
        raise ValueError(f"bad GEOCODER_OPTIONS for {service!r}: {exc}") from exc


def resolve_place(text: str, *, gazetteer: Gazetteer, online_geocoder: OnlineGeocoder | None = None) -> GeoResult:
    """Resolve coordinates ("23.13,113.32"), a gazetteer place (name, alias, pinyin) or, if given, an
    online geocoder query. Never raises for user input: failures are unresolved results with suggestions.
    """
    query = " ".join(str(text or "").split())
    if not query:
        return GeoResult.unresolved("", "empty", _("Enter a place name or coordinates (latitude,longitude)."))
    if len(query) > MAX_QUERY_LENGTH:
        return GeoResult.unresolved(
            query[:MAX_QUERY_LENGTH],
            "too_long",
            _("That is too long for a place name (at most %(n)d characters).", n=MAX_QUERY_LENGTH),
        )

    if _COORDINATE_CHARS.match(query) and any(ch.isdigit() for ch in query):
        try:
            lat, lon = parse_coordinates(query)
        except CoordinateError as exc:
            return GeoResult.unresolved(query, "invalid_coordinates", str(exc))
        return GeoResult(
            query=query,
            resolved=True,
            name=f"{lat:.5f},{lon:.5f}",
            latitude=lat,
            longitude=lon,
            kind="point",
            source="coordinates",
        )

    located = gazetteer.locate(query)
    place = located.place
    if place is not None:
        return GeoResult(
            query=query,
            resolved=True,
            name=place.name,
            latitude=place.latitude,
            longitude=place.longitude,
            district=place.district,
            street=place.street_name,
            kind=place.kind,
            source="gazetteer",
        )
    suggestions = tuple(p.name for p in located.suggestions[:MAX_SUGGESTIONS])
    if normalize(query) in CITY_NAMES:
        return GeoResult.unresolved(
            query,
            "not_found",
            _("Guangzhou as a whole is no single point: name a district, street, metro station or village in it."),
            suggestions,
        )
    if located.conflict is not None and located.district is not None:
        return GeoResult.unresolved(
            query,
            "not_found",
            _(
                "“%(place)s” is in %(its)s, not in %(typed)s.",
                place=located.conflict.name,
                its=located.conflict.district or "",
                typed=located.district.name,
            ),
            suggestions,
        )
    if online_geocoder is not None:
        result = online_geocoder.geocode(query)
        if result.resolved:
            district = next((d.name for d in gazetteer.districts() if d.name in (result.name or "")), None)
            return GeoResult(
                query=query,
                resolved=True,
                name=result.name,
                latitude=result.latitude,
                longitude=result.longitude,
                district=district,
                kind=result.kind,
                source="online",
            )
        return GeoResult.unresolved(query, result.reason or "not_found", result.message or "", suggestions)

    if "," in query or "，" in query:
        message = _(
            "“%(query)s” is neither a known place nor coordinates; coordinates look like 23.13,113.32.", query=query
        )
    else:
        message = _("No place called “%(query)s” was found in Guangzhou.", query=query)
    return GeoResult.unresolved(query, "not_found", message, suggestions)


def resolve_for_app(text: str, app: Flask | None = None) -> GeoResult:
    """:func:`resolve_place` with the app's gazetteer and configured geocoder (``current_app`` by default)."""
    app = app or current_app._get_current_object()  # type: ignore[attr-defined]
    try:
        online = get_geocoder(app.config)
    except Exception:  # settings changed under a running app: gazetteer places and coordinates still work
        log.exception("the online geocoder is misconfigured; using the gazetteer alone")
        online = None
    return resolve_place(text, gazetteer=default_gazetteer(app), online_geocoder=online)
