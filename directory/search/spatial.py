"""Finding documents near a point without scanning the index: a grid per index segment.

Whoosh segments never change once written, so each segment's grid is built once (from its
coordinate columns) and reused until the segment is merged away. A new segment after an edit is
small, so its grid is cheap. Deleted documents are skipped at query time.
"""

from __future__ import annotations

import math
import threading
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass

from whoosh.matching import ListMatcher, NullMatcher
from whoosh.query import Query

CELL_DEG = 0.05  # about 5 km
_grids: dict[str, SegmentGrid] = {}
_lock = threading.Lock()


@dataclass
class SegmentGrid:
    cells: dict[tuple[int, int], list[tuple[int, float, float]]]

    @classmethod
    def build(cls, reader) -> SegmentGrid:
        cells: dict[tuple[int, int], list[tuple[int, float, float]]] = defaultdict(list)
        if reader.has_column("lat_col"):
            lats, lons = reader.column_reader("lat_col"), reader.column_reader("lon_col")
            for docnum in range(reader.doc_count_all()):
                lat, lon = lats[docnum], lons[docnum]
                if lat or lon:
                    cells[(math.floor(lat / CELL_DEG), math.floor(lon / CELL_DEG))].append((docnum, lat, lon))
        return cls(dict(cells))

    def within_box(self, min_lat: float, max_lat: float, min_lon: float, max_lon: float):
        for i in range(math.floor(min_lat / CELL_DEG), math.floor(max_lat / CELL_DEG) + 1):
            for j in range(math.floor(min_lon / CELL_DEG), math.floor(max_lon / CELL_DEG) + 1):
                for docnum, lat, lon in self.cells.get((i, j), ()):
                    if min_lat <= lat <= max_lat and min_lon <= lon <= max_lon:
                        yield docnum, lat, lon


def segment_key(reader) -> str:
    """Identifies a segment across searchers (Whoosh gives each segment a random id)."""
    return reader.segment().segment_id()


def grid_for(reader) -> SegmentGrid:
    key = segment_key(reader)
    grid = _grids.get(key)
    if grid is None:
        grid = SegmentGrid.build(reader)
        with _lock:
            _grids[key] = grid
    return grid


def leaves(searcher) -> Iterator[tuple[object, int]]:
    """(segment reader, offset of its first document) for each segment of the searcher."""
    reader = searcher.reader()
    if reader.is_atomic():
        yield reader, 0
    else:
        yield from reader.leaf_readers()


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
