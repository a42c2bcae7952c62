"""Geography: gazetteer lookup, place resolution, online geocoder failure handling, distances."""

from __future__ import annotations

import json
import math
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlparse

import pytest
from geopy.distance import geodesic
from hypothesis import given, settings
from hypothesis import strategies as st

from directory.geo import (
    Gazetteer,
    GazetteerError,
    GeoResult,
    bounding_box,
    default_gazetteer,
    distance_km,
    get_geocoder,
    parse_coordinates,
    resolve_for_app,
    resolve_place,
)
from directory.geo.geocoder import CoordinateError

GAZETTEER_PATH = Path(__file__).resolve().parent.parent / "seed_data" / "gazetteer.yaml"


@pytest.fixture(scope="module")
def gaz() -> Gazetteer:
    return Gazetteer.from_path(GAZETTEER_PATH)


def resolve(text: str, gaz: Gazetteer, **kwargs) -> GeoResult:
    return resolve_place(text, gazetteer=gaz, **kwargs)


# ---- gazetteer ----


def test_gazetteer_loads_every_place_once(gaz):
    assert len(gaz) == 347
    assert {p.kind for p in gaz} == {"district", "subdistrict", "town", "community", "metro", "landmark"}
    assert len(gaz.districts()) == 11
    assert Gazetteer.from_path(str(GAZETTEER_PATH)) is gaz  # cached per path


@pytest.mark.parametrize(
    "query", ["天河区", "天河", "tianhe", "Tianhe District", "  TIANHE  district ", "tianhequ", "thq"]
)
def test_district_by_chinese_short_english_and_pinyin(gaz, query):
    result = resolve(query, gaz)
    assert result.resolved and result.source == "gazetteer"
    assert (result.name, result.kind, result.district) == ("天河区", "district", "天河区")
    assert result.point == pytest.approx((23.1247, 113.3612))


@pytest.mark.parametrize("query", ["五山街道", "五山街", "五山", "Wushan Subdistrict", "wushanjiedao"])
def test_subdistrict(gaz, query):
    place = gaz.lookup(query)
    assert place is not None and (place.name, place.kind, place.district) == ("五山街道", "subdistrict", "天河区")


@pytest.mark.parametrize("query", ["体育西路站", "体育西路", "Tiyu Xilu Station", "tiyuxilu", "tiyuxiluzhan", "tyxl"])
def test_metro_station_by_name_pinyin_and_initials(gaz, query):
    result = resolve(query, gaz)
    assert (result.name, result.kind, result.district) == ("体育西路站", "metro", "天河区")
    assert "1号线" in gaz.get("体育西路站").lines


@pytest.mark.parametrize("query", ["广州塔", "小蛮腰", "Canton Tower", "guangzhouta"])
def test_landmark(gaz, query):
    result = resolve(query, gaz)
    assert (result.name, result.kind, result.district) == ("广州塔", "landmark", "海珠区")


def test_ambiguous_query_prefers_kinds_but_exact_name_wins(gaz):
    assert gaz.lookup("白云").name == "白云区"  # 白云区 (district) over 白云街道 (subdistrict)
    assert gaz.lookup("昌岗").kind == "subdistrict"  # 昌岗街道 over 昌岗站
    assert gaz.lookup("changgang").kind == "subdistrict"
    assert gaz.lookup("昌岗站").name == "昌岗站"  # exact name of the metro station
    assert gaz.lookup("广州东站").name == "广州东站"  # landmark by name, not the 广州东站地铁站 station


def test_pinyin_covers_other_readings(gaz):
    assert gaz.lookup("changlong").name == "长隆旅游度假区"  # 长 read chang, not zhang


def test_bad_gazetteer_file_is_reported(tmp_path):
    bad = tmp_path / "gazetteer.yaml"
    bad.write_text("places:\n  - {name: 某地, kind: planet, district: 天河区, lat: 23, lon: 113}\n", encoding="utf-8")
    with pytest.raises(GazetteerError, match="kind"):
        Gazetteer.from_path(bad)
    with pytest.raises(GazetteerError, match="cannot read"):
        Gazetteer.from_path(tmp_path / "missing.yaml")


def test_default_gazetteer_and_offline_app(app):
    assert default_gazetteer(app) is Gazetteer.from_path(GAZETTEER_PATH)
    assert get_geocoder(app.config) is None  # GEOCODER defaults to "offline"
    result = resolve_for_app("珠江新城", app)
    assert result.resolved and result.name == "珠江新城站"


# ---- coordinates ----


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("23.13,113.32", (23.13, 113.32)),
        ("23.13, 113.32", (23.13, 113.32)),
        (" 23.13 ，113.32 ", (23.13, 113.32)),
        ("23.13 113.32", (23.13, 113.32)),
        ("-33.9,-70", (-33.9, -70.0)),
        ("90,180", (90.0, 180.0)),
    ],
)
def test_coordinates(gaz, text, expected):
    result = resolve(text, gaz)
    assert result.resolved and result.source == "coordinates" and result.kind == "point"
    assert result.point == expected and result.district is None
    assert parse_coordinates(text) == expected


@pytest.mark.parametrize(
    ("text", "reason", "fragment"),
    [
        ("abc,def", "not_found", "coordinates look like"),
        ("91,113", "invalid_coordinates", "Latitude must be between -90 and 90"),
        ("23.1,181", "invalid_coordinates", "Longitude must be between -180 and 180"),
        ("113.32,23.13", "invalid_coordinates", "Did you mean 23.13,113.32"),
        ("23.1", "invalid_coordinates", "need a latitude and a longitude"),
        ("23.1,113.3,5", "invalid_coordinates", "need a latitude and a longitude"),
        ("1e5,2", "not_found", "neither a known place nor coordinates"),
    ],
)
def test_bad_coordinates_are_rejected_clearly(gaz, text, reason, fragment):
    result = resolve(text, gaz)
    assert not result.resolved and result.point is None
    assert result.reason == reason
    assert fragment in result.message


def test_parse_coordinates_raises_for_garbage():
    with pytest.raises(CoordinateError):
        parse_coordinates("nan,inf")


# ---- unresolved input ----


@pytest.mark.parametrize("text", ["", "   ", None])
def test_empty_input(gaz, text):
    result = resolve(text, gaz)
    assert not result.resolved and result.reason == "empty" and result.message


@pytest.mark.parametrize(
    ("text", "suggestion"),
    [
        ("天和区", "天河区"),
        ("天和", "天河区"),
        ("体育西", "体育西路站"),
        ("tiyuxi", "体育西路站"),
        ("海株区", "海珠区"),
        ("小蛮", "广州塔"),
        ("越秀公圆", "越秀公园站"),
    ],
)
def test_unknown_place_suggests_close_matches(gaz, text, suggestion):
    result = resolve(text, gaz)
    assert not result.resolved and result.reason == "not_found"
    assert text in result.message
    assert result.suggestions[0] == suggestion
    assert len(result.suggestions) <= 5


@pytest.mark.parametrize(
    ("text", "name", "kind"),
    [
        ("番禺区 市桥", "市桥街道", "subdistrict"),
        ("番禺区市桥", "市桥街道", "subdistrict"),
        ("番禺 市桥街", "市桥街道", "subdistrict"),
        ("广州市天河区石牌", "石牌街道", "subdistrict"),
        ("天河区 体育西路", "体育西路站", "metro"),
        ("市桥地铁站", "市桥站", "metro"),
        ("市桥站", "市桥站", "metro"),
        ("地铁客村站", "客村站", "metro"),
        ("客村地铁", "客村站", "metro"),
        ("Shiqiao metro station", "市桥站", "metro"),
        ("石牌村", "石牌村", "community"),
        ("天河区 石牌村", "石牌村", "community"),
        ("祈福新村", "祈福新邨", "community"),
    ],
)
def test_places_as_people_type_them(gaz, text, name, kind):
    result = resolve(text, gaz)
    assert result.resolved, result.message
    assert (result.name, result.kind) == (name, kind)


def test_a_place_knows_its_street_for_service_areas(gaz):
    assert resolve("番禺区 市桥", gaz).street == "市桥街道"
    assert resolve("石牌村", gaz).street == "石牌街道"  # a village: the 街道 it lies in
    assert resolve("番禺区", gaz).street is None


def test_a_place_in_another_district_is_never_picked(gaz):
    result = resolve("越秀区 市桥", gaz)
    assert not result.resolved
    assert "番禺区" in result.message and "越秀区" in result.message
    assert result.suggestions == ("市桥街道",)


@pytest.mark.parametrize("text", ["火星区", "番禺区 火星", "广州"])
def test_an_unknown_place_is_never_turned_into_another(gaz, text):
    result = resolve(text, gaz)
    assert not result.resolved and result.reason == "not_found"
    assert "越秀区" not in result.suggestions or text == "广州"  # 火星区 is not like 越秀区


def test_an_unknown_street_in_a_district_offers_that_district(gaz):
    result = resolve("番禺区 火星", gaz)
    assert result.suggestions[-1] == "番禺区"
    assert all(gaz.get(name).district == "番禺区" for name in result.suggestions)


def test_nothing_close_gives_no_suggestions(gaz):
    result = resolve("qqqqzzzz", gaz)
    assert not result.resolved and result.suggestions == ()


def test_overlong_input(gaz):
    result = resolve("天河" * 500, gaz)
    assert not result.resolved and result.reason == "too_long"


# ---- online geocoder ----


def test_get_geocoder_offline_and_misconfigured():
    assert get_geocoder({}) is None
    assert get_geocoder({"GEOCODER": "offline"}) is None
    with pytest.raises(ValueError, match="GEOCODER_USER_AGENT"):
        get_geocoder({"GEOCODER": "nominatim"})
    with pytest.raises(ValueError, match="unknown GEOCODER"):
        get_geocoder({"GEOCODER": "no-such-service"})


def nominatim_config(domain: str, agent: str) -> dict:
    return {
        "GEOCODER": "nominatim",
        "GEOCODER_USER_AGENT": agent,
        "GEOCODER_DOMAIN": domain,
        "GEOCODER_SCHEME": "http",
        "GEOCODER_TIMEOUT": 1,
    }


def test_online_network_failure_is_an_unresolved_result(gaz):
    geocoder = get_geocoder(nominatim_config("127.0.0.1:9", "lianjie-tests-unroutable"))
    assert geocoder is not None
    assert get_geocoder(nominatim_config("127.0.0.1:9", "lianjie-tests-unroutable")) is geocoder  # shared
    result = resolve("天河路某某社区服务中心", gaz, online_geocoder=geocoder)
    assert not result.resolved and result.reason == "service_error"
    assert "could not be reached" in result.message
    assert "天河区" in result.suggestions
    # gazetteer places never reach the network
    assert resolve("天河", gaz, online_geocoder=geocoder).source == "gazetteer"


REPLIES = {
    "inside": [{"lat": "23.1310", "lon": "113.3220", "display_name": "体育西路, 天河区, 广州市, 广东省, 中国"}],
    "outside": [{"lat": "39.9042", "lon": "116.4074", "display_name": "北京市, 中国"}],
    "nothing": [],
}


@pytest.fixture
def fake_nominatim():
    """A local HTTP server answering Nominatim's /search (no external network exists here)."""
    requests: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server API)
            query = parse_qs(urlparse(self.path).query).get("q", [""])[0]
            requests.append(query)
            body = json.dumps(REPLIES.get(query.split()[0], [])).encode()
            self.send_response(200)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield f"127.0.0.1:{server.server_port}", requests
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize(
    ("query", "reason"), [("inside", None), ("outside", "outside_region"), ("nothing", "not_found")]
)
def test_online_results(gaz, fake_nominatim, query, reason):
    domain, requests = fake_nominatim
    geocoder = get_geocoder(nominatim_config(domain, f"lianjie-tests-{query}"))
    first = resolve(f"{query} 某某大厦", gaz, online_geocoder=geocoder)
    again = resolve(f"{query}  某某大厦", gaz, online_geocoder=geocoder)  # cached: no second request
    assert first == again
    assert len(requests) == 1
    if reason is None:
        assert first.resolved and first.source == "online" and first.district == "天河区"
        assert first.point == (23.131, 113.322)
    else:
        assert not first.resolved and first.reason == reason and first.message


# ---- distances ----


def haversine_km(a_lat, a_lon, b_lat, b_lon, radius=6371.0088):
    p1, p2 = math.radians(a_lat), math.radians(b_lat)
    dp, dl = p2 - p1, math.radians(b_lon - a_lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * radius * math.asin(math.sqrt(h))


def test_distance_km():
    # one degree of latitude at 23°N: the meridian arc is ~110.745 km on WGS-84
    assert distance_km(22.5, 113.3, 23.5, 113.3) == pytest.approx(110.745, abs=0.5)
    # 广州塔 → 体育西路站 agrees with a spherical estimate to 0.5 %
    tower, station = (23.1064, 113.3245), (23.1305, 113.3215)
    assert distance_km(*tower, *station) == pytest.approx(haversine_km(*tower, *station), rel=0.005)
    assert distance_km(*tower, *tower) == 0


def test_bounding_box_is_tight_around_guangzhou():
    min_lat, max_lat, min_lon, max_lon = bounding_box(23.13, 113.32, 10)
    north = geodesic(kilometers=10).destination((23.13, 113.32), 0).latitude
    east = geodesic(kilometers=10).destination((23.13, 113.32), 90).longitude
    assert north <= max_lat <= north + 0.01 * (north - 23.13)
    assert east <= max_lon <= east + 0.01 * (east - 113.32)
    with pytest.raises(ValueError):
        bounding_box(23.13, 113.32, -1)


@settings(max_examples=200, deadline=None)
@given(
    lat=st.floats(-89, 89),
    lon=st.floats(-180, 180),
    radius=st.floats(0, 2000),
    bearing=st.floats(0, 360),
    fraction=st.floats(0, 1),
)
def test_bounding_box_contains_every_point_within_radius(lat, lon, radius, bearing, fraction):
    point = geodesic(kilometers=radius * fraction).destination((lat, lon), bearing)
    min_lat, max_lat, min_lon, max_lon = bounding_box(lat, lon, radius)
    assert min_lat <= point.latitude <= max_lat
    assert min_lon <= point.longitude <= max_lon
