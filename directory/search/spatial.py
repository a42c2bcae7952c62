"""Finding documents near a point without scanning the index: arrays per index segment.

Whoosh segments never change once written (only their deletion marks do), so each segment's
coordinates, service ids and filter values are read once from its columns into numpy arrays, sorted
by grid cell, and reused until the segment is merged away. A new segment after an edit is small, so
its arrays are cheap. A query reads the cells around the point, measures distances for all of them at
once, and applies the filters as array masks.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Generic, TypeVar

import numpy as np
from whoosh.matching import ListMatcher, NullMatcher
from whoosh.query import Query

CELL_DEG = 0.05  # about 5 km
_ROW = 1 << 20  # cell key = row * _ROW + column (cells of Guangdong never reach this many columns)
_services: dict[str, int] = {}  # service id → small integer, shared by all segments
_service_ids: list[str] = []
_lock = threading.Lock()

# WGS 84, for the local flat-earth distance used to pre-select candidates.
_A, _E2 = 6378.137, 0.00669437999014


def _service_number(service_id: str) -> int:
    number = _services.get(service_id)
    if number is None:
        with _lock:
            number = _services.setdefault(service_id, len(_service_ids))
            if number == len(_service_ids):
                _service_ids.append(service_id)
    return number


def service_id_of(number: int) -> str:
    return _service_ids[number]


def _cell(lat: np.ndarray | float, lon: np.ndarray | float):
    return np.floor(np.asarray(lat) / CELL_DEG).astype(np.int64) * _ROW + np.floor(np.asarray(lon) / CELL_DEG).astype(
        np.int64
    )


@dataclass
class SegmentGrid:
    """One segment's located documents, sorted by grid cell."""

    docnums: np.ndarray
    lats: np.ndarray
    lons: np.ndarray
    cells: np.ndarray
    services: np.ndarray
    districts: np.ndarray  # object array of district names
    accepting: np.ndarray
    taxonomy: list[frozenset[str]]
    languages: list[frozenset[str]]
    _masks: dict[tuple[str, str], np.ndarray] = field(default_factory=dict)

    @classmethod
    def build(cls, reader) -> SegmentGrid:
        docs, lats, lons, services, districts, accepting, taxonomy, languages = [], [], [], [], [], [], [], []
        if reader.has_column("lat_col") and reader.has_column("filter_col"):
            lat_col, lon_col = reader.column_reader("lat_col"), reader.column_reader("lon_col")
            flags_col, service_col = reader.column_reader("filter_col"), reader.column_reader("service_id")
            for docnum in range(reader.doc_count_all()):
                lat, lon = lat_col[docnum], lon_col[docnum]
                if not lat and not lon:
                    continue
                codes, district, accepts, langs = flags_col[docnum].decode("utf-8").split("|")
                docs.append(docnum)
                lats.append(lat)
                lons.append(lon)
                services.append(_service_number(service_col[docnum]))
                districts.append(district)
                accepting.append(accepts == "1")
                taxonomy.append(frozenset(codes.split(",")))
                languages.append(frozenset(langs.split(",")))
        lat_a, lon_a = np.array(lats, dtype=np.float64), np.array(lons, dtype=np.float64)
        cells = _cell(lat_a, lon_a) if docs else np.array([], dtype=np.int64)
        order = np.argsort(cells, kind="stable")
        return cls(
            docnums=np.array(docs, dtype=np.int64)[order],
            lats=lat_a[order],
            lons=lon_a[order],
            cells=cells[order],
            services=np.array(services, dtype=np.int64)[order],
            districts=np.array(districts, dtype=object)[order],
            accepting=np.array(accepting, dtype=bool)[order],
            taxonomy=[taxonomy[i] for i in order],
            languages=[languages[i] for i in order],
        )

    def mask(self, kind: str, value: str) -> np.ndarray:
        """Which documents carry a taxonomy code (with ancestors) or a language; computed once each."""
        key = (kind, value)
        if key not in self._masks:
            sets = self.taxonomy if kind == "taxonomy" else self.languages
            self._masks[key] = np.fromiter((value in s for s in sets), dtype=bool, count=len(sets))
        return self._masks[key]

    def in_box(self, min_lat: float, max_lat: float, min_lon: float, max_lon: float) -> np.ndarray:
        """Positions (into this grid's arrays) of documents inside the box."""
        if not len(self.cells):
            return np.array([], dtype=np.int64)
        first_col, last_col = math.floor(min_lon / CELL_DEG), math.floor(max_lon / CELL_DEG)
        parts = []
        for row in range(math.floor(min_lat / CELL_DEG), math.floor(max_lat / CELL_DEG) + 1):
            start = np.searchsorted(self.cells, row * _ROW + first_col, side="left")
            end = np.searchsorted(self.cells, row * _ROW + last_col, side="right")
            if end > start:
                parts.append(np.arange(start, end))
        if not parts:
            return np.array([], dtype=np.int64)
        positions = np.concatenate(parts)
        lat, lon = self.lats[positions], self.lons[positions]
        inside = (lat >= min_lat) & (lat <= max_lat) & (lon >= min_lon) & (lon <= max_lon)
        return positions[inside]


def local_km(lat0: float, lon0: float, lats: np.ndarray, lons: np.ndarray) -> np.ndarray:
    """Distances on the ellipsoid's local tangent plane: within 0.1 % of geodesic below ~50 km."""
    phi = math.radians(lat0)
    w = math.sqrt(1 - _E2 * math.sin(phi) ** 2)
    north = _A * (1 - _E2) / w**3  # meridional radius of curvature
    east = _A / w  # prime vertical radius of curvature
    dy = np.radians(lats - lat0) * north
    dx = np.radians(lons - lon0) * east * np.cos(np.radians((lats + lat0) / 2))
    return np.hypot(dx, dy)


def segment_key(reader) -> str:
    """Identifies a segment across searchers (Whoosh gives each segment a random id)."""
    return reader.segment().segment_id()


T = TypeVar("T")
_per_segment: list[PerSegment] = []


class PerSegment(Generic[T]):
    """A value computed once per index segment (``build(reader)``) and kept until the segment is
    merged away: call it with a segment reader."""

    def __init__(self, build: Callable[[object], T]):
        self.build = build
        self._values: dict[str, T] = {}
        _per_segment.append(self)

    def __call__(self, reader) -> T:
        key = segment_key(reader)
        value = self._values.get(key)
        if value is None:
            value = self.build(reader)
            with _lock:
                self._values[key] = value
        return value

    def forget_except(self, keys: set[str]) -> None:
        with _lock:
            for key in [k for k in self._values if k not in keys]:
                del self._values[key]


grid_for: PerSegment[SegmentGrid] = PerSegment(SegmentGrid.build)


def _service_numbers_of(reader) -> np.ndarray:
    count = reader.doc_count_all()
    column = reader.column_reader("service_id")
    return np.fromiter((_service_number(column[d]) for d in range(count)), dtype=np.int64, count=count)


# The service number (see ``service_id_of``) of every document of a segment.
service_numbers: PerSegment[np.ndarray] = PerSegment(_service_numbers_of)


def by_leaf(searcher, docnums: np.ndarray, values: Callable[[object, np.ndarray], np.ndarray]) -> np.ndarray:
    """``values(segment reader, local numbers)`` for documents given by their numbers in the searcher."""
    out: np.ndarray | None = None
    for reader, offset in leaves(searcher):
        inside = (docnums >= offset) & (docnums < offset + reader.doc_count_all())
        if inside.any():
            part = values(reader, docnums[inside] - offset)
            if out is None:
                out = np.zeros(len(docnums), dtype=part.dtype)
            out[inside] = part
    return out if out is not None else np.zeros(len(docnums), dtype=np.int64)


def forget_segments_except(keys: set[str]) -> None:
    """Drop every per-segment value of segments that no longer exist (merged away)."""
    for cache in _per_segment:
        cache.forget_except(keys)


def leaves(searcher) -> Iterator[tuple[object, int]]:
    """(segment reader, offset of its first document) for each segment of the searcher that holds
    documents (an index with none has an empty reader and no segment)."""
    reader = searcher.reader()
    leaf_readers = [(reader, 0)] if reader.is_atomic() else reader.leaf_readers()
    yield from ((leaf, offset) for leaf, offset in leaf_readers if leaf.doc_count_all())


class DocSet(Query):
    """Matches exactly the given documents (per segment, by local number), with no score of its own."""

    def __init__(self, by_segment: dict[str, list[int]]):
        self.by_segment = {key: sorted(docs) for key, docs in by_segment.items()}

    def __eq__(self, other: object) -> bool:
        return isinstance(other, DocSet) and other.by_segment == self.by_segment

    def __hash__(self) -> int:
        return hash(tuple((k, tuple(v)) for k, v in sorted(self.by_segment.items())))

    def __repr__(self) -> str:
        return f"DocSet({sum(len(v) for v in self.by_segment.values())} docs)"

    def estimate_size(self, ixreader) -> int:
        return sum(len(v) for v in self.by_segment.values())

    def matcher(self, searcher, context=None):
        docs = self.by_segment.get(segment_key(searcher.reader()), [])
        return ListMatcher(docs, all_weights=0.0) if docs else NullMatcher()
