"""WGS-84 → GCJ-02 → BD-09 against published reference pairs, and the 导航 links built from them."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest

from directory.geo.datums import gcj02_to_bd09, outside_china, wgs84_to_bd09, wgs84_to_gcj02
from directory.geo.distance import distance_km
from directory.geo.navigation import navigation_links

# (WGS-84 lat, lon) → (GCJ-02 lat, lon): the test vectors of googollee/eviltransform and of
# wandergis/coordtransform (its README example 116.404, 39.915).
WGS_TO_GCJ = [
    ((31.1774276, 121.5272106), (31.17530398364597, 121.531541859215)),  # Shanghai
    ((22.543847, 113.912316), (22.540796131694766, 113.9171764808363)),  # Shenzhen
    ((39.911954, 116.377817), (39.91334545536069, 116.38404722455657)),  # Beijing
    ((39.915, 116.404), (39.91640428150164, 116.41024449916938)),
]
# (GCJ-02) → (BD-09): wandergis/coordtransform's gcj02tobd09(116.404, 39.915).
GCJ_TO_BD = [((39.915, 116.404), (39.92133699351021, 116.41036949371029))]


@pytest.mark.parametrize(("wgs", "gcj"), WGS_TO_GCJ)
def test_wgs84_to_gcj02_matches_reference(wgs, gcj):
    assert wgs84_to_gcj02(*wgs) == pytest.approx(gcj, abs=1e-9)


@pytest.mark.parametrize(("gcj", "bd"), GCJ_TO_BD)
def test_gcj02_to_bd09_matches_reference(gcj, bd):
    assert gcj02_to_bd09(*gcj) == pytest.approx(bd, abs=1e-9)


def test_in_guangzhou_the_offsets_are_hundreds_of_metres():
    wgs = (23.1291, 113.2644)  # 越秀区
    gcj = wgs84_to_gcj02(*wgs)
    bd = wgs84_to_bd09(*wgs)
    assert 0.3 < distance_km(*wgs, *gcj) < 0.8  # why an unconverted point lands in the wrong street
    assert 0.8 < distance_km(*wgs, *bd) < 1.6
    assert bd == pytest.approx(gcj02_to_bd09(*gcj), abs=1e-12)


def test_points_outside_china_are_not_shifted():
    assert outside_china(51.5, -0.12)
    assert wgs84_to_gcj02(51.5, -0.12) == (51.5, -0.12)
    assert wgs84_to_bd09(1.29, 103.85) == (1.29, 103.85)


def test_navigation_links_carry_each_apps_datum():
    lat, lon = 23.1225, 113.2800
    links = {link.app: urlsplit(link.url) for link in navigation_links(lat, lon, "越秀社区中心", "中山路1号")}
    assert set(links) == {"amap", "baidu", "tencent"}
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    b_lat, b_lon = gcj02_to_bd09(g_lat, g_lon)

    amap = parse_qs(links["amap"].query)
    assert links["amap"].netloc == "uri.amap.com"
    assert amap["position"] == [f"{g_lon:.6f},{g_lat:.6f}"]  # Amap: longitude first, GCJ-02
    assert amap["coordinate"] == ["gaode"] and amap["name"] == ["越秀社区中心"]

    baidu = parse_qs(links["baidu"].query)
    assert links["baidu"].netloc == "api.map.baidu.com"
    assert baidu["location"] == [f"{b_lat:.6f},{b_lon:.6f}"] and baidu["coord_type"] == ["bd09ll"]

    tencent = parse_qs(links["tencent"].query)
    assert links["tencent"].netloc == "apis.map.qq.com"
    assert tencent["marker"] == [f"coord:{g_lat:.6f},{g_lon:.6f};title:越秀社区中心;addr:中山路1号"]
