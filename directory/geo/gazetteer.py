"""Offline gazetteer of Guangzhou places, looked up by name, alias or pinyin.

The YAML file (``seed_data/gazetteer.yaml``) holds ``places``: each with ``name``, ``kind``
(district | subdistrict | town | community | metro | landmark), ``district``, ``lat``, ``lon``,
``aliases``, optionally ``street`` (the 街道/镇 a community, village or station lies in) and, for metro
stations, ``lines``. Pinyin keys are computed here with pypinyin; they are not stored.

Places are also read the way people type them (:meth:`Gazetteer.locate`): a district and a street
("番禺区 市桥", "番禺区市桥"), a station with 地铁站/地铁/站 ("市桥地铁站"). A part that names a place in
another district than the one typed is never resolved silently: the miss says where that place is.
"""

from __future__ import annotations

import itertools
import re
import threading
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from difflib import SequenceMatcher
from pathlib import Path
from typing import TYPE_CHECKING

import yaml
from pypinyin import Style, lazy_pinyin, pinyin

if TYPE_CHECKING:
    from flask import Flask

# Preference when a query matches several places (lower index wins), unless one is an exact name match.
KINDS: tuple[str, ...] = ("district", "subdistrict", "town", "community", "metro", "landmark")
# The kinds a service area can name (a whole district, or one 街道/镇).
STREET_KINDS = ("subdistrict", "town")
# The city as a whole: typed before a place ("广州市天河区") or alone.
CITY_NAMES = ("广州市", "广州", "guangzhou", "guangzhoushi", "guangzhoucity")
KIND_RANK = {kind: rank for rank, kind in enumerate(KINDS)}

# Trailing suffixes that may be added or dropped (checked longest first, on normalized text).
_SUFFIXES = ("subdistrict", "district", "station", "街道", "town", "区", "街", "镇", "站")
_NOT_WORD = re.compile(r"[\W_]+")
_CJK = re.compile(r"[\u3400-\u9fff\uf900-\ufaff]")
_MAX_READINGS = 16  # cap on heteronym combinations per string
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class GazetteerError(ValueError):
    """The gazetteer file is missing or malformed."""


@dataclass(frozen=True)
class Place:
    name: str
    kind: str
    district: str | None
    latitude: float
    longitude: float
    aliases: tuple[str, ...] = ()
    lines: tuple[str, ...] = ()
    street: str | None = None  # the 街道/镇 it lies in (itself for a street)

    @property
    def street_name(self) -> str | None:
        """The 街道/镇 a service area must name to cover this place (None when not known)."""
        return self.name if self.kind in STREET_KINDS else self.street


@dataclass(frozen=True)
class Located:
    """What :meth:`Gazetteer.locate` made of a text: a place, or why not and what to offer instead.

    ``conflict`` is a place the text names that lies outside the district typed with it (``district``).
    """

    place: Place | None
    suggestions: tuple[Place, ...] = ()
    district: Place | None = None
    conflict: Place | None = None


def normalize(text: str) -> str:
    """Case-fold, NFKC-normalize and drop whitespace and punctuation: "Tianhe District" → "tianhedistrict"."""
    return _NOT_WORD.sub("", unicodedata.normalize("NFKC", text).casefold())


def strip_suffix(key: str) -> str:
    """Drop one trailing 区/街道/街/镇/站 (or district/subdistrict/town/station), keeping at least 2 chars."""
    for suffix in _SUFFIXES:
        if key.endswith(suffix) and len(key) - len(suffix) >= 2:
            return key[: -len(suffix)]
    return key


def has_cjk(text: str) -> bool:
    return bool(_CJK.search(text))


def _syllable_choices(text: str) -> tuple[list[str], list[list[str]]]:
    """The most likely toneless syllables of ``text`` and, per syllable, every reading."""
    best = lazy_pinyin(text, style=Style.NORMAL)
    choices = pinyin(text, style=Style.NORMAL, heteronym=True)
    if len(choices) != len(best):  # segmentation differs: fall back to the phrase-aware reading
        choices = [[syllable] for syllable in best]
    return best, choices


def _spellings(best: list[str], choices: list[list[str]]) -> tuple[list[str], list[str]]:
    combos = itertools.chain([best], itertools.islice(itertools.product(*choices), _MAX_READINGS))
    readings: list[str] = []
    initials: list[str] = []
    for combo in combos:
        joined = "".join(combo)
        for spelling in (joined, joined.replace("v", "u")):
            key = normalize(spelling)
            if key and key not in readings:
                readings.append(key)
        first = normalize("".join(syllable[:1] for syllable in combo))
        if first and first not in initials:
            initials.append(first)
    return readings, initials


def pinyin_readings(text: str) -> list[str]:
    """Toneless pinyin spellings of ``text`` without spaces ("体育西路" → "tiyuxilu"), likeliest first.

    Characters with several readings (长 zhang/chang) give several spellings (capped); ü is spelled both
    "v" and "u". Non-Chinese characters are kept (normalized).
    """
    return _spellings(*_syllable_choices(text))[0]


def pinyin_initials(text: str) -> list[str]:
    """Initial letters of each syllable ("体育西路" → "tyxl"), for each reading of ``text``."""
    return _spellings(*_syllable_choices(text))[1]


def _to_float(value: object, field: str, where: str) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        raise GazetteerError(f"{where}: {field} must be a number, got {value!r}") from None
    return number


def _parse_place(raw: object, index: int) -> Place:
    where = f"places[{index}]"
    if not isinstance(raw, dict):
        raise GazetteerError(f"{where}: expected a mapping")
    name = str(raw.get("name") or "").strip()
    if not name:
        raise GazetteerError(f"{where}: name is required")
    where = f"{where} ({name})"
    kind = raw.get("kind")
    if kind not in KIND_RANK:
        raise GazetteerError(f"{where}: kind must be one of {', '.join(KINDS)}, got {kind!r}")
    lat = _to_float(raw.get("lat"), "lat", where)
    lon = _to_float(raw.get("lon"), "lon", where)
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise GazetteerError(f"{where}: coordinates out of range: {lat}, {lon}")
    aliases = raw.get("aliases") or []
    lines = raw.get("lines") or []
    if not isinstance(aliases, list) or not isinstance(lines, list):
        raise GazetteerError(f"{where}: aliases and lines must be lists")
    district = raw.get("district")
    street = raw.get("street")
    return Place(
        name=name,
        kind=kind,
        district=str(district) if district else None,
        latitude=lat,
        longitude=lon,
        aliases=tuple(str(a).strip() for a in aliases if str(a).strip()),
        lines=tuple(str(line) for line in lines),
        street=str(street) if street else None,
    )


class Gazetteer:
    """An in-memory index of places. Build with :meth:`from_path` (cached per path) or from places."""

    _cache: dict[Path, Gazetteer] = {}
    _cache_lock = threading.Lock()

    def __init__(self, places: Iterable[Place]) -> None:
        self.places: tuple[Place, ...] = tuple(places)
        self._order = {id(place): i for i, place in enumerate(self.places)}
        self._by_name: dict[str, Place] = {}
        # "exact" indexes hold whole names/aliases; the others also their suffix-stripped forms.
        self._text_exact: dict[str, list[Place]] = {}
        self._text: dict[str, list[Place]] = {}
        self._pinyin_exact: dict[str, list[Place]] = {}
        self._pinyin: dict[str, list[Place]] = {}
        self._initials: dict[str, list[Place]] = {}
        for place in self.places:
            key = normalize(place.name)
            if key in self._by_name:
                raise GazetteerError(f"duplicate place name: {place.name}")
            self._by_name[key] = place
            for label in (place.name, *place.aliases):
                full = normalize(label)
                if not full:
                    continue
                self._add(self._text_exact, full, place)
                for variant in {full, strip_suffix(full)}:
                    self._add(self._text, variant, place)
                if has_cjk(full):
                    self._index_pinyin(full, place)

    def _index_pinyin(self, key: str, place: Place) -> None:
        best, choices = _syllable_choices(key)
        variants = [(best, choices, True)]
        stripped = strip_suffix(key)
        dropped = len(key) - len(stripped)
        if dropped and len(best) == len(key):  # one syllable per character: drop the suffix syllables
            variants.append((best[:-dropped], choices[:-dropped], False))
        for syllables, options, whole in variants:
            readings, initials = _spellings(syllables, options)
            for reading in readings:
                if whole:
                    self._add(self._pinyin_exact, reading, place)
                self._add(self._pinyin, reading, place)
            for initial in initials:
                if len(initial) >= 2:
                    self._add(self._initials, initial, place)

    @staticmethod
    def _add(index: dict[str, list[Place]], key: str, place: Place) -> None:
        bucket = index.setdefault(key, [])
        if place not in bucket:
            bucket.append(place)

    # ---- construction ----

    @classmethod
    def from_path(cls, path: str | Path) -> Gazetteer:
        """Load the YAML file at ``path``; each path is read and indexed once per process."""
        resolved = Path(path).resolve()
        with cls._cache_lock:
            cached = cls._cache.get(resolved)
            if cached is None:
                cached = cls._cache[resolved] = cls(cls._read(resolved))
        return cached

    @staticmethod
    def _read(path: Path) -> list[Place]:
        try:
            data = yaml.load(path.read_text(encoding="utf-8"), Loader=_YAML_LOADER)  # noqa: S506 (a safe loader)
        except OSError as exc:
            raise GazetteerError(f"cannot read gazetteer {path}: {exc}") from exc
        except yaml.YAMLError as exc:
            raise GazetteerError(f"invalid YAML in gazetteer {path}: {exc}") from exc
        if not isinstance(data, dict) or not isinstance(data.get("places"), list):
            raise GazetteerError(f"{path}: expected a top-level 'places' list")
        return [_parse_place(raw, i) for i, raw in enumerate(data["places"])]

    # ---- queries ----

    def __len__(self) -> int:
        return len(self.places)

    def __iter__(self) -> Iterator[Place]:
        return iter(self.places)

    def districts(self) -> list[Place]:
        return [place for place in self.places if place.kind == "district"]

    def get(self, name: str) -> Place | None:
        """The place whose canonical name is ``name`` (normalized), or None."""
        return self._by_name.get(normalize(name))

    def _best(self, places: Iterable[Place]) -> Place:
        return min(places, key=lambda p: (KIND_RANK[p.kind], self._order[id(p)]))

    def lookup(self, text: str, district: str | None = None) -> Place | None:
        """Find one place by exact name, alias (suffix-insensitive), full pinyin or pinyin initials.

        An exact name match wins. Otherwise the first tier with matches decides: whole alias, alias
        with a suffix added or dropped, whole pinyin, pinyin without the suffix, initials; within a tier
        kinds are preferred district > subdistrict > town > community > metro > landmark. With
        ``district``, only places in that district are considered.
        """
        key = normalize(text)
        if not key:
            return None
        exact = self._by_name.get(key)
        if exact is not None and (district is None or exact.district == district):
            return exact
        loose = (key, strip_suffix(key))
        tiers = (
            (self._text_exact, (key,)),
            (self._text, loose),
            (self._pinyin_exact, (key,)),
            (self._pinyin, loose),
            (self._initials, (key,)),
        )
        for index, keys in tiers:
            found = [
                place for k in keys for place in index.get(k, ()) if district is None or place.district == district
            ]
            if found:
                return self._best(found)
        return None

    def locate(self, text: str) -> Located:
        """A place as people type it: a name (see :meth:`lookup`), a station with 地铁站/地铁 ("市桥地铁站"),
        or a district and a place in it, spaced or not ("番禺区 市桥", "番禺区市桥", "广州市天河区石牌").

        A part naming a place in another district than the one typed gives no place (``conflict``);
        an unknown part gives the similar places of the district typed, and the district itself.
        """
        if normalize(text) in CITY_NAMES:  # the whole city is no point to measure from
            return Located(None, tuple(self.districts()[:5]))
        whole = self.lookup(text) or self.lookup(station_form(text))
        if whole is not None:
            return Located(whole)
        parts = self._parts(text)
        if not parts:
            return Located(None, tuple(self.suggest(text)))
        districts = [self.lookup(part) for part in parts]
        district = next((p for p in districts if p is not None and p.kind == "district"), None)
        rest = [part for part, found in zip(parts, districts, strict=True) if found is None or found.kind != "district"]
        if district is None or len(parts) == 1 and not rest:
            if len(parts) == 1 and district is None:
                return Located(None, tuple(self.suggest(parts[0])))
            if not rest:
                return Located(district)
        if not rest:
            return Located(district)
        found: list[Place] = []
        for part in rest:
            place = self._lookup_part(part, district.name if district else None)
            if place is None:
                elsewhere = self._lookup_part(part, None) if district else None
                if elsewhere is not None:
                    return Located(None, (elsewhere,), district=district, conflict=elsewhere)
                near = [p for p in self.suggest(part, limit=8) if district is None or p.district == district.name]
                offered = [*self.suggest(text), *near[:4], *([district] if district else [])]
                return Located(None, tuple(dict.fromkeys(offered))[:5], district=district)
            found.append(place)
        if len({p.district for p in found}) > 1:  # two places far apart: say so, pick neither
            return Located(None, tuple(found), district=district)
        return Located(max(found, key=lambda p: (KIND_RANK[p.kind], -self._order[id(p)])))

    def _lookup_part(self, part: str, district: str | None) -> Place | None:
        return self.lookup(part, district) or self.lookup(station_form(part), district)

    def _parts(self, text: str) -> list[str]:
        """The words of a place text, a leading city name dropped and a leading district split off."""
        parts: list[str] = []
        for word in text.split():
            key = normalize(word)
            for city in CITY_NAMES:
                if key.startswith(normalize(city)) and len(key) > len(normalize(city)):
                    word = word[len(city) :] if word.startswith(city) else word
                    break
            if normalize(word) in CITY_NAMES:
                continue
            split = self._split_district(word)
            parts.extend(split)
        return [part for part in parts if normalize(part)]

    def _split_district(self, word: str) -> list[str]:
        """ "番禺区市桥" → ["番禺区", "市桥"]: the longest district name or alias the word starts with."""
        if not has_cjk(word) or self.lookup(word) is not None:
            return [word]
        for size in range(min(len(word) - 1, 4), 1, -1):
            head = self.lookup(word[:size])
            if head is not None and head.kind == "district" and normalize(word[:size]) in self._text_exact:
                return [word[:size], word[size:]]
        return [word]

    def suggest(self, text: str, limit: int = 5) -> list[Place]:
        """Up to ``limit`` places close to ``text`` by substring, edit distance or pinyin, best first."""
        key = normalize(text)
        if not key or limit <= 0:
            return []
        scores: dict[int, float] = {}
        by_id: dict[int, Place] = {}

        def offer(place: Place, score: float) -> None:
            pid = id(place)
            by_id[pid] = place
            if score > scores.get(pid, 0.0):
                scores[pid] = score

        text_ratio = 0.55 if has_cjk(key) else 0.75  # one wrong character in three is a typo in Chinese
        for candidate, places in self._text.items():
            score = _similarity(key, candidate, min_ratio=text_ratio)
            if score:
                for place in places:
                    offer(place, score)

        spellings: list[str] = []
        if has_cjk(key):
            # The stem's readings: a shared 区/街/站 says nothing (火星区 is not like 越秀区).
            spellings = pinyin_readings(strip_suffix(key))[:4]
        elif key.isascii() and key.isalpha():
            spellings = [key]
        # Typed Chinese that sounds alike (天和 → 天河) spells alike: nearly equal pinyin only.
        pinyin_ratio = 0.85 if has_cjk(key) else 0.75
        for spelling in spellings:
            for candidate, places in self._pinyin.items():
                score = _similarity(spelling, candidate, min_ratio=pinyin_ratio, min_substring=3)
                if score:
                    for place in places:
                        offer(place, 0.97 * score)
        if key.isascii() and key.isalpha() and len(key) >= 2:
            for candidate, places in self._initials.items():
                if candidate == key:
                    score = 0.8
                elif candidate.startswith(key):
                    score = 0.6 + 0.15 * len(key) / len(candidate)
                else:
                    continue
                for place in places:
                    offer(place, score)

        ranked = sorted(
            (pid for pid, score in scores.items() if score >= 0.6),
            key=lambda pid: (-scores[pid], KIND_RANK[by_id[pid].kind], self._order[pid]),
        )
        return [by_id[pid] for pid in ranked[:limit]]


_STATION_WORDS = ("地铁站", "地铁", "metrostation", "subwaystation", "metro", "subway")


def station_form(text: str) -> str:
    """The station name a text means: "市桥地铁站", "市桥地铁", "地铁市桥站" → "市桥站"; "Shiqiao metro
    station" → "shiqiaostation". Text that names no station comes back normalized."""
    key = normalize(text)
    if key.startswith("地铁") and len(key) > 3:
        key = key[2:]
    for word in _STATION_WORDS:
        if key.endswith(word) and len(key) > len(word):
            return key[: -len(word)] + ("站" if has_cjk(key[: -len(word)]) else "station")
    return key


def _similarity(query: str, candidate: str, *, min_ratio: float, min_substring: int = 2) -> float:
    """0 when unrelated; 1 for equal; ~0.75–0.95 for substrings; else the difflib ratio (scaled)."""
    if query == candidate:
        return 1.0
    if len(query) >= min_substring and query in candidate:
        return 0.75 + 0.2 * len(query) / len(candidate)
    if len(candidate) >= min_substring and candidate in query:
        return 0.7 + 0.2 * len(candidate) / len(query)
    matcher = SequenceMatcher(None, query, candidate)
    if matcher.real_quick_ratio() < min_ratio or matcher.quick_ratio() < min_ratio:
        return 0.0
    ratio = matcher.ratio()
    return 0.9 * ratio if ratio >= min_ratio else 0.0


def default_gazetteer(app: Flask) -> Gazetteer:
    """The app's gazetteer: ``SEED_DIR/gazetteer.yaml`` (loaded once per path)."""
    return Gazetteer.from_path(Path(app.config["SEED_DIR"]) / "gazetteer.yaml")
