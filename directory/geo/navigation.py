""" "导航" links: open a place in the common Chinese map apps, each in the datum it expects.

Stored coordinates are WGS-84 (docs/seed-data.md "Coordinates"). Each link opens the app's web page,
which offers to open the installed app (on a phone, inside WeChat too):

- Amap/高德: ``uri.amap.com/marker`` with ``coordinate=gaode`` — GCJ-02.
- Baidu/百度: ``api.map.baidu.com/marker`` with ``coord_type=bd09ll`` — BD-09 (converted from GCJ-02).
- Tencent/腾讯: ``apis.map.qq.com/uri/v1/marker`` — GCJ-02 (its default coordinate type).
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from directory.geo.datums import gcj02_to_bd09, wgs84_to_gcj02

APP_SOURCE = "lianjie"  # the calling application's name, which Baidu and Tencent ask for


@dataclass(frozen=True)
class MapLink:
    app: str  # amap | baidu | tencent
    url: str


def _coord(value: float) -> str:
    return f"{value:.6f}"


def navigation_links(lat: float, lon: float, name: str, address: str = "") -> list[MapLink]:
    """Links to one WGS-84 point, labelled ``name``, in Amap, Baidu and Tencent maps."""
    g_lat, g_lon = wgs84_to_gcj02(lat, lon)
    b_lat, b_lon = gcj02_to_bd09(g_lat, g_lon)
    label = name.replace(";", " ").replace(":", " ")  # Tencent's marker parameter uses ; and : as separators
    amap = urlencode(
        {"position": f"{_coord(g_lon)},{_coord(g_lat)}", "name": name, "coordinate": "gaode", "src": APP_SOURCE}
    )
    baidu = urlencode(
        {
            "location": f"{_coord(b_lat)},{_coord(b_lon)}",
            "title": name,
            "content": address or name,
            "coord_type": "bd09ll",
            "output": "html",
            "src": f"webapp.{APP_SOURCE}",
        }
    )
    marker = f"coord:{_coord(g_lat)},{_coord(g_lon)};title:{label}"
    if address:
        marker += ";addr:" + address.replace(";", " ").replace(":", " ")
    tencent = urlencode({"marker": marker, "referer": APP_SOURCE})
    return [
        MapLink("amap", f"https://uri.amap.com/marker?{amap}"),
        MapLink("baidu", f"https://api.map.baidu.com/marker?{baidu}"),
        MapLink("tencent", f"https://apis.map.qq.com/uri/v1/marker?{tencent}"),
    ]
