"""Service areas: the whole city, a district, or one 街道/镇 of a district (HSDS ``service_area``).

A service with an area serves everyone living or staying in it, wherever its office is (a district's
legal-aid office, a hotline, an online fund). A search near a place finds the services whose area
covers that place: an area covers a place when it is the city, the place's district, or the 街道/镇
the place lies in.

Areas are written as text in the seed data and in HSDS ``service_area.name``/``extent`` ("广州市",
"番禺区", "番禺区 市桥街道"); :func:`parse_area` reads that text with the gazetteer.
"""

from __future__ import annotations

from dataclasses import dataclass

from directory.geo.gazetteer import CITY_NAMES, STREET_KINDS, Gazetteer, normalize

CITY = "广州市"
CITY_KEY = "city"


@dataclass(frozen=True)
class Area:
    """``district`` None: the whole city; ``street`` None: the whole district."""

    district: str | None = None
    street: str | None = None

    @property
    def scope(self) -> str:
        return "city" if self.district is None else ("district" if self.street is None else "street")

    @property
    def name(self) -> str:
        if self.district is None:
            return CITY
        return self.district if self.street is None else f"{self.district} {self.street}"

    @property
    def key(self) -> str:
        """The index term of this area (see :func:`covering_keys`)."""
        return area_key(self.district, self.street)


class AreaError(ValueError):
    """Text that names no city, district or 街道/镇 of the gazetteer; the message says which part."""


def area_key(district: str | None, street: str | None) -> str:
    if district is None:
        return CITY_KEY
    return f"d:{district}" if street is None else f"s:{district}/{street}"


def covering_keys(district: str | None, street: str | None) -> tuple[str, ...]:
    """The index terms of every area that covers a place in ``district`` and ``street`` (either may be
    unknown, e.g. for coordinates: then only the areas that are sure to cover it)."""
    keys = [CITY_KEY]
    if district:
        keys.append(area_key(district, None))
        if street:
            keys.append(area_key(district, street))
    return tuple(keys)


def parse_area(text: str, gazetteer: Gazetteer) -> Area:
    """ "广州市" → the city; "番禺区" → a district; "市桥街道", "番禺区 市桥街道" or "番禺区市桥" → a street of
    its district. Raises AreaError for anything else (a place that is no district or street, or a
    street typed with a district it is not in)."""
    cleaned = " ".join(str(text or "").split())
    if not cleaned:
        raise AreaError("a service area needs a name")
    if normalize(cleaned) in CITY_NAMES:
        return Area()
    located = gazetteer.locate(cleaned)
    place = located.place
    if place is None:
        if located.conflict is not None:
            raise AreaError(f"{located.conflict.name} is in {located.conflict.district}, not {located.district.name}")
        raise AreaError(f"'{cleaned}' is not a district or a 街道/镇 of Guangzhou")
    if place.kind == "district":
        return Area(district=place.name)
    if place.kind in STREET_KINDS:
        return Area(district=place.district, street=place.name)
    raise AreaError(f"'{cleaned}' is a {place.kind}, not a district or a 街道/镇")
