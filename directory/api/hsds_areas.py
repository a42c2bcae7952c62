"""Service areas in HSDS 3.0 (``service_area``): written and read as the area's name.

We keep an area as the city, a district or a 街道/镇 (directory/geo/areas.py). In HSDS it is a
``service_area`` whose ``name`` is that area's name ("广州市", "番禺区", "番禺区 市桥街道"), with the same
text as its ``extent`` and ``extent_type`` "text" (HSDS's kind for areas given in words). Reading, the
``extent`` is used when its type is "text", else the ``name``; an area that is no city, district or
街道/镇 of the gazetteer is not kept (the importer reports it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from directory.catalog.models import ServiceArea
from directory.geo.areas import Area, AreaError, parse_area
from directory.geo.gazetteer import Gazetteer

EXTENT_TYPE = "text"


def service_area_dict(area: ServiceArea) -> dict[str, Any]:
    """One of our areas as an HSDS service_area object."""
    name = area.area.name
    result = {
        "id": area.id,
        "service_id": area.service_id,
        "name": name,
        "description": area.description,
        "extent": name,
        "extent_type": EXTENT_TYPE,
    }
    return {key: value for key, value in result.items() if value is not None}


def area_from_hsds(data: Mapping[str, Any], gazetteer: Gazetteer) -> Area:
    """The area an HSDS service_area names; raises AreaError when it is not one we can place."""
    extent_type = str(data.get("extent_type") or "").strip().lower()
    text = data.get("extent") if extent_type == EXTENT_TYPE and data.get("extent") else data.get("name")
    if not text or not str(text).strip():
        raise AreaError("a service area needs a name (or a text extent)")
    return parse_area(str(text), gazetteer)
