"""The search: keyword (Chinese, English, pinyin, synonyms) × place and radius × filters.

Whoosh finds the candidates — text match, category, district, accepting, language, and a bounding
box around the place — so that distances are computed only for documents already inside the box.
Distances are ranked with a fast great-circle formula and made exact with geopy's geodesic wherever
it matters: for the results shown and for candidates near the radius edge.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time
from itertools import islice

import numpy as np
from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.collectors import TopCollector
from whoosh.query import And, ConstantScoreQuery, Every, Or, Query, Term
from whoosh.searching import Searcher
from whoosh.support.levenshtein import distance as levenshtein_distance

from directory.catalog.hours import Recurrence, is_open_at, recurrence_from_fields
from directory.eligibility.rules import Verdict
from directory.geo.areas import CITY_KEY, covering_keys
from directory.geo.distance import bounding_box, distance_km
from directory.geo.districts import DISTRICTS
from directory.geo.geocoder import GeoResult
from directory.search.analysis import cjk_words, pinyin_keys, text_analyzer
from directory.search.eligibility import EligibilityCheck
from directory.search.index import SearchIndex
from directory.search.querytext import Unit, parse_query
from directory.search.spatial import (
    DocSet,
    by_leaf,
    grid_for,
    leaves,
    local_km,
    segment_key,
    service_id_of,
    service_numbers,
)
from directory.search.synonyms import Synonyms

SORTS = ("relevance", "distance")
MAX_PER_PAGE = 100
MAX_RADIUS_KM = 200.0
# The local ellipsoidal distance stays within 0.011 % of geodesic up to 200 km (measured over
# Guangdong): candidates within this margin of the radius are decided with the geodesic distance.
EXACT_MARGIN = 0.0005
# A tier of a keyword search scores at most this many matches (spread over segments by size, in
# index order) before taking its top results; beyond it the total is an estimate.
MATCH_CAP = 800
# Hiding ineligible services from a broad keyword search: up to this many matching documents are
# counted exactly (unscored); beyond it the share shown among them scales the estimated total.
COUNT_LIMIT = 1000


class ParamError(ValueError):
    def __init__(self, param: str, message: str):
        super().__init__(f"{param}: {message}")
        self.param = param
        self.message = message


@dataclass(frozen=True)
class SearchParams:
    q: str = ""
    near: str = ""
    radius_km: float | None = None
    category: str | None = None
    district: str | None = None
    open_now: bool = False
    accepting: bool = False
    language: str | None = None
    sort: str | None = None
    page: int = 1
    per_page: int = 20
    hide_ineligible: bool = False  # with a client's facts: leave out services they are not eligible for

    @property
    def effective_radius(self) -> float:
        return self.radius_km if self.radius_km is not None else 5.0

    def effective_sort(self) -> str:
        if self.sort:
            return self.sort
        return "relevance" if self.q.strip() else "distance"


def _flag(args: Mapping[str, str], name: str) -> bool:
    raw = (args.get(name) or "").strip().lower()
    if raw in ("", "0", "false", "no", "off"):
        return False
    if raw in ("1", "true", "yes", "on", "y"):
        return True
    raise ParamError(name, "must be true or false")


def _int(args: Mapping[str, str], name: str, default: int, low: int, high: int) -> int:
    raw = (args.get(name) or "").strip()
    if not raw:
        return default
    try:
        value = int(raw)
    except ValueError as exc:
        raise ParamError(name, "must be a whole number") from exc
    if not low <= value <= high:
        raise ParamError(name, f"must be between {low} and {high}")
    return value


def parse_params(
    args: Mapping[str, str], known_categories: set[str] | None = None, known_languages: set[str] | None = None
) -> SearchParams:
    """Validate request parameters; a bad one raises ParamError naming it."""
    q = (args.get("q") or "").strip()
    if len(q) > 200:
        raise ParamError("q", "must be at most 200 characters")
    near = (args.get("near") or "").strip()
    radius = None
    raw_radius = (args.get("radius_km") or "").strip()
    if raw_radius:
        try:
            radius = float(raw_radius)
        except ValueError as exc:
            raise ParamError("radius_km", "must be a number of kilometres") from exc
        if not (0 < radius <= MAX_RADIUS_KM) or math.isnan(radius):
            raise ParamError("radius_km", f"must be more than 0 and at most {MAX_RADIUS_KM:g}")
    category = (args.get("category") or "").strip() or None
    if category and known_categories is not None and category not in known_categories:
        raise ParamError("category", f"unknown category '{category}'")
    district = (args.get("district") or "").strip() or None
    if district and district not in DISTRICTS:
        raise ParamError("district", f"unknown district '{district}'")
    language = (args.get("language") or "").strip() or None
    if language and known_languages is not None and language not in known_languages:
        raise ParamError("language", f"unknown language '{language}'")
    sort = (args.get("sort") or "").strip() or None
    if sort and sort not in SORTS:
        raise ParamError("sort", f"must be one of {', '.join(SORTS)}")
    return SearchParams(
        q=q,
        near=near,
        radius_km=radius,
        category=category,
        district=district,
        open_now=_flag(args, "open_now"),
        accepting=_flag(args, "accepting"),
        language=language,
        sort=sort,
        page=_int(args, "page", 1, 1, 10_000),
        per_page=_int(args, "per_page", 20, 1, MAX_PER_PAGE),
        hide_ineligible=_flag(args, "hide_ineligible"),
    )


@dataclass
class Hit:
    service_id: str
    location_id: str
    name: str
    org_name: str
    district: str
    address: str
    codes: list[str]
    latitude: float | None
    longitude: float | None
    accepting: bool
    score: float = 0.0
    distance_km: float | None = None
    snippet: Markup = field(default_factory=Markup)
    description: str = ""  # the full text the snippet is cut from
    eligibility: Verdict | None = None  # with a client's facts
    alt_name: str = ""  # the English names, shown in the English UI (i18n.local_name)
    org_alt_name: str = ""
    covers: bool = False  # near a place: the service's area covers it (directory/geo/areas.py)
    open_now: bool | None = None  # by its hours at the time of the search; None without hours
    partial: bool = False  # matches some of the query's words, not every one


@dataclass
class SearchResult:
    params: SearchParams
    hits: list[Hit]
    total: int
    place: GeoResult | None = None
    suggestion: str | None = None
    corrected_from: str | None = None
    total_is_estimate: bool = False
    hidden: int | None = None  # services left out as ineligible (None: not hiding, or not counted exactly)
    partial: bool = False  # too few services matched every word: partial matches follow them

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.params.per_page))


# --- query building ------------------------------------------------------------------------------


def query_tokens(text: str) -> list[str]:
    """The analyzed words of a query: jieba's precise mode, without the index's extra sub-words."""
    return [token.text for token in text_analyzer()(text, mode="query")]


def _forms(token: str, synonyms: Synonyms | None) -> frozenset[str]:
    forms = {token}
    if synonyms is not None:
        forms |= set(synonyms.expand(token))
    return frozenset(forms)


def _alternatives(token: str, synonyms: Synonyms | None, fieldname: str) -> Query:
    """The word itself, or any group it belongs to: the index marks each field with the synonym groups
    it matches (``SynonymMarkFilter``), so a group is one term, not a union of its members. The word
    itself stays in the query so that the exact word ranks above a synonym."""
    terms = [Term(fieldname, token)] + [Term(fieldname, mark) for mark in (synonyms.marks(token) if synonyms else ())]
    return Or(terms) if len(terms) > 1 else terms[0]


def _search_clause(text: str, synonyms: Synonyms | None, fieldname: str) -> Query | None:
    """One text a unit may be satisfied by: its group's mark, or every one of its words (each through
    its own groups)."""
    tokens = query_tokens(text)
    if not tokens:
        return None
    if len(tokens) == 1:
        return _alternatives(tokens[0], synonyms, fieldname)
    together = And([_alternatives(token, synonyms, fieldname) for token in tokens])
    marks = synonyms.marks(text) if synonyms is not None else ()
    return Or([together, *(Term(fieldname, mark) for mark in marks)]) if marks else together


# A partial match's score: this much per unit it covers, plus its BM25 score (far below it), so that
# services covering more of the query come first and BM25 orders those covering as much.
COVERAGE_WEIGHT = 1000.0
# "Every word matches" finding fewer services than this also shows the best partial matches after them.
FEW_MATCHES = 3


@dataclass(frozen=True)
class TextQuery:
    """The units of a query (see ``directory.search.querytext``) as Whoosh queries."""

    units: tuple[Unit, ...]
    synonyms: Synonyms | None

    def clauses(self, fieldname: str = "all") -> list[Query]:
        """One clause per unit; a unit asking for the same synonym groups as an earlier one (methadone
        美沙酮) is asked once."""
        clauses: list[Query] = []
        asked: set[frozenset[str]] = set()
        for unit in self.units:
            key = frozenset(
                form
                for text in unit.searches
                for form in (self.synonyms.marks(text) if self.synonyms else ()) or (" ".join(query_tokens(text)),)
            )
            if key and key in asked:
                continue
            asked.add(key)
            options = [c for c in (_search_clause(t, self.synonyms, fieldname) for t in unit.searches) if c is not None]
            if unit.pinyin:
                options.append(Term("pinyin", unit.pinyin))
            if options:
                clauses.append(Or(options) if len(options) > 1 else options[0])
        return clauses

    def strict(self, fieldname: str = "all") -> Query | None:
        """Every unit must match."""
        clauses = self.clauses(fieldname)
        if not clauses:
            return None
        return And(clauses) if len(clauses) > 1 else clauses[0]

    def partial(self) -> Query | None:
        """Any unit may match, ranked by how many match (``COVERAGE_WEIGHT`` each), then by BM25 with names
        and categories counting twice; None for a query of one unit (nothing to fall back to)."""
        broad, titles = self.clauses("all"), self.clauses("title")
        if len(broad) < 2:
            return None
        return Or([Or([ConstantScoreQuery(b, COVERAGE_WEIGHT), b, t]) for b, t in zip(broad, titles, strict=True)])


def prepare_text(q: str, synonyms: Synonyms | None, reader=None) -> TextQuery:
    """The query understood: normalized, phrases matched, function words dropped, spaced pinyin joined
    when ``reader`` holds the joined key."""
    is_pinyin_key = None
    if reader is not None and "pinyin" in reader.schema:

        def is_pinyin_key(key: str) -> bool:
            """A pinyin key of a name, a word of a listing (dibao) or a synonym member."""
            if reader.doc_frequency("pinyin", key) or reader.doc_frequency("all", key):
                return True
            return synonyms is not None and bool(synonyms.marks(key))

    return TextQuery(tuple(parse_query(q, synonyms, is_pinyin_key)), synonyms)


def text_query(q: str, synonyms: Synonyms | None, fieldname: str = "all", reader=None) -> Query | None:
    """Every unit of the query must match (through a synonym, or as pinyin of a name).

    ``fieldname`` is ``all`` (every searchable word) or ``title`` (names and categories only).
    """
    return prepare_text(q, synonyms, reader).strict(fieldname)


# --- open now ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Weekly:
    days: tuple[str, ...]
    opens_at: time
    closes_at: time
    recurrence: Recurrence | None = None


@dataclass(frozen=True)
class _Holiday:
    starts_on: date
    ends_on: date
    closed: bool
    opens_at: time | None
    closes_at: time | None


def _t(value: str | None) -> time | None:
    return time.fromisoformat(value) if value else None


def open_from_stored(hours_json: str, moment: datetime) -> bool:
    data = json.loads(hours_json or "{}")
    weekly = []
    for days, o, c, *rule in data.get("weekly", []):
        recurrence = None
        if rule:  # hours that recur other than weekly
            fields = rule[0]
            start = fields.get("dtstart")
            recurrence = recurrence_from_fields(
                fields.get("freq"),
                fields.get("interval"),
                days,
                fields.get("bymonthday"),
                date.fromisoformat(start) if start else None,
                fields.get("wkst"),
            )
        weekly.append(_Weekly(tuple(days.split(",")), _t(o), _t(c), recurrence))
    holidays = [
        _Holiday(date.fromisoformat(s), date.fromisoformat(e), closed, _t(o), _t(c))
        for s, e, closed, o, c in data.get("holidays", [])
    ]
    return is_open_at(weekly, holidays, moment)


# --- snippets ------------------------------------------------------------------------------------


class _EscapingFormatter(highlight.Formatter):
    """Whoosh's highlighter with every piece of listing text escaped; matches in <mark>."""

    def format_token(self, text, token, replace=False):
        return f"<mark>{escape(highlight.get_text(text, token, replace))}</mark>"

    def format_fragment(self, fragment, replace=False):
        output, index = [], fragment.startchar
        text = fragment.text
        for token in fragment.matches:
            if token.startchar < index:
                continue
            if token.startchar > index:
                output.append(str(escape(text[index : token.startchar])))
            output.append(self.format_token(text, token, replace))
            index = token.endchar
        output.append(str(escape(text[index : fragment.endchar])))
        return "".join(output)

    def format(self, fragments, replace=False):
        return " … ".join(self.format_fragment(f, replace) for f in fragments)


def snippet(text: str, terms: set[str]) -> Markup:
    if not text:
        return Markup("")
    if terms:
        marked = highlight.highlight(
            text,
            frozenset(terms),
            text_analyzer(),
            highlight.ContextFragmenter(maxchars=160, surround=50),
            _EscapingFormatter(),
            top=2,
        )
        if marked:
            return Markup(marked)  # noqa: S704 (every piece escaped by _EscapingFormatter)
    short = text if len(text) <= 120 else text[:120] + "…"
    return escape(short)


# --- the search ----------------------------------------------------------------------------------


def _hit(fields: dict, score: float) -> Hit:
    return Hit(
        service_id=fields["service_id"],
        location_id=fields.get("location_id") or "",
        name=fields.get("name", ""),
        org_name=fields.get("org_name", ""),
        district=fields.get("district", ""),
        alt_name=fields.get("alt_name") or "",
        org_alt_name=fields.get("org_alt_name") or "",
        address=fields.get("address", ""),
        codes=[c for c in (fields.get("codes") or "").split(",") if c],
        latitude=fields.get("lat"),
        longitude=fields.get("lon"),
        accepting=bool(fields.get("accepting")),
        score=score,
        description=fields.get("description", ""),
    )


def _query_terms(text: TextQuery) -> set[str]:
    """Words to highlight: the query's words and their one-word synonyms (a part of a several-word
    synonym, such as 门诊 in 美沙酮 门诊, would light up unrelated text)."""
    terms: set[str] = set()
    for unit in text.units:
        for search in unit.searches:
            for token in query_tokens(search):
                terms.update(form for form in _forms(token, text.synonyms) if " " not in form)
    return terms


def run_search(
    params: SearchParams,
    *,
    search_index: SearchIndex,
    synonyms: Synonyms | None,
    place: GeoResult | None,
    now: datetime,
    eligibility: EligibilityCheck | None = None,
    correct: bool = True,
) -> SearchResult:
    """Run one search. ``place`` is the resolved ``near`` point (None when no place was given).

    The words are understood first (``prepare_text``). Services matching every unit come first. When
    none do, a word matching nothing is corrected to the nearest real word of the catalog and, with
    ``correct``, the corrected query is run instead if it finds something. When every unit still
    matches fewer than ``FEW_MATCHES`` services, the best partial matches follow, ranked by how many
    units they cover (``SearchResult.partial``).

    With ``eligibility`` (a client's facts) every hit on the page carries its verdict, and when the
    check says ``hide`` the services the client is ineligible for are left out before ranking and
    counting, so totals and pages count only what is shown.
    """
    origin = place.point if place is not None and place.resolved else None
    hiding = eligibility if eligibility is not None and eligibility.hide else None

    with search_index.searcher() as searcher:
        if searcher.doc_count() == 0:
            return SearchResult(params=params, hits=[], total=0, place=place, hidden=0 if hiding else None)
        area_keys = covering_keys(place.district, place.street) if place is not None and origin is not None else ()

        def rank(text: TextQuery | None, broad: Query | None = None) -> tuple[list[_Candidate], int, bool, int | None]:
            return _rank(
                searcher, params, text, origin, now, hiding, broad, area_keys=area_keys, eligibility=eligibility
            )

        text = prepare_text(params.q, synonyms, searcher.reader()) if params.q else None
        if text is not None and not text.units:
            text = None  # only function words (哪里, near): a search by place and filters alone
        ranked, total, estimated, hidden = rank(text)
        suggestion = corrected_from = None
        if text is not None and total == 0 and correct:
            suggestion = _suggest(searcher, text)
            if suggestion:
                fixed = prepare_text(suggestion, synonyms, searcher.reader())
                found = rank(fixed)
                if found[1]:
                    text, (ranked, total, estimated, hidden) = fixed, found
                    corrected_from = params.q
                else:
                    suggestion = None  # never suggest words that find nothing either
        partial = False
        # Services hidden as ineligible did match every word: the page offers to show them instead.
        if text is not None and total < FEW_MATCHES and not hidden and (broad := text.partial()) is not None:
            more, more_total, more_estimated, more_hidden = rank(text, broad)
            shown = {c.service_id for c in ranked}
            extra = [c for c in more if c.service_id not in shown]
            if extra:
                for candidate in extra:
                    candidate.partial = True
                ranked = ranked + extra
                total = max(len(ranked), more_total)  # the partial matches include the full ones
                estimated, partial = more_estimated, True
                hidden = more_hidden
        hits = _page_hits(searcher, ranked, params, origin, eligibility, now)

    result = SearchResult(
        params=params,
        hits=hits,
        total=total,
        place=place,
        suggestion=suggestion,
        corrected_from=corrected_from,
        total_is_estimate=estimated,
        hidden=hidden,
        partial=partial,
    )
    terms = _query_terms(text) if text is not None else set()
    for hit in result.hits:
        hit.snippet = snippet(hit.description, terms)
    return result


def _rank(
    searcher,
    params: SearchParams,
    text: TextQuery | None,
    origin,
    now: datetime,
    hiding: EligibilityCheck | None,
    broad: Query | None = None,
    *,
    area_keys: Sequence[str] = (),
    eligibility: EligibilityCheck | None = None,
) -> tuple[list[_Candidate], int, bool, int | None]:
    """Ranked candidates (at least up to the page's end), their total, whether it is an estimate, and
    how many services were hidden. Every unit of ``text`` must match, or with ``broad`` (the partial
    query) any of them. Near a place, ``area_keys`` are the service areas that cover it, and a name or
    category match (the title query) ranks above a mention."""
    text_q = broad if broad is not None else (text.strict() if text is not None else None)
    if origin is not None:
        title_q = text.strict("title") if text is not None else None
        ranked, total, hidden = _near(searcher, text_q, title_q, params, origin, area_keys, now, eligibility)
        return ranked, total, False, hidden
    if text_q is not None and not params.open_now:
        tiers = [broad] if broad is not None else [text.strict("title"), text.strict("all")]
        return _top_by_relevance(searcher, params, tiers, hiding)
    ranked, total, hidden = _everything(searcher, text_q, params, now, hiding)
    return ranked, total, False, hidden


@dataclass
class _Candidate:
    docnum: int  # global document number in the searcher
    score: float = 0.0
    km: float | None = None  # from the place; None when not located within the radius
    exact: bool = False
    lat: float = 0.0
    lon: float = 0.0
    service_id: str = ""
    area_km: float = math.inf  # the distance a covering service area ranks it at (inf: no area covers the place)
    ineligible: bool = False  # with a client's facts, not hiding: ranked after the eligible

    @property
    def covers(self) -> bool:
        return self.area_km != math.inf

    @property
    def rank_km(self) -> float:
        return min(self.km if self.km is not None else math.inf, self.area_km)

    partial: bool = False  # matches some of the query's units, not all


Origin = tuple[float, float]

# A service whose area covers the place ranks as if it were this far from it (km): one serving the
# place's 街道/镇 as if next door, one serving its district as if 1 km away; one serving the whole city
# ranks after everything located inside the radius (see ``_area_rank_km``).
AREA_RANK_KM = {"street": 0.0, "district": 1.0}


def _area_rank_km(key: str, radius: float) -> float:
    scope = "city" if key == CITY_KEY else ("district" if key.startswith("d:") else "street")
    return AREA_RANK_KM.get(scope, radius)


@dataclass
class _Pool:
    """The candidates of a search near a place as parallel arrays, one row per document."""

    docs: np.ndarray  # global document numbers
    kms: np.ndarray  # distance from the place; inf when not located within the radius
    exact: np.ndarray  # kms measured with the geodesic
    services: np.ndarray  # service numbers (spatial.service_id_of)
    lats: np.ndarray
    lons: np.ndarray
    area_km: np.ndarray  # see _Candidate.area_km

    @classmethod
    def concat(cls, parts: list[_Pool]) -> _Pool:
        if not parts:
            empty_f, empty_i = np.zeros(0), np.zeros(0, dtype=np.int64)
            return cls(empty_i, empty_f, np.zeros(0, dtype=bool), empty_i, empty_f, empty_f, empty_f)
        return cls(*(np.concatenate(column) for column in zip(*(p.columns() for p in parts), strict=True)))

    def __len__(self) -> int:
        return len(self.docs)

    def take(self, keep: np.ndarray) -> _Pool:
        return _Pool(*(column[keep] for column in self.columns()))

    def columns(self) -> tuple[np.ndarray, ...]:
        return (self.docs, self.kms, self.exact, self.services, self.lats, self.lons, self.area_km)


def _located(searcher: Searcher, params: SearchParams, origin: Origin, radius: float) -> _Pool:
    """Located documents inside the radius that pass the filters, from the per-segment arrays: one
    mask per segment (distance, filters, deletions; the geodesic decides near the edge) applied once."""
    lat0, lon0 = origin
    box = bounding_box(lat0, lon0, radius)
    parts: list[_Pool] = []
    for reader, offset in leaves(searcher):
        grid = grid_for(reader)
        pos = grid.in_box(*box)
        if not len(pos):
            continue
        km = local_km(lat0, lon0, grid.lats[pos], grid.lons[pos])
        keep = km <= radius * (1 + EXACT_MARGIN)
        if params.category:
            keep &= grid.mask("taxonomy", params.category)[pos]
        if params.district:
            keep &= grid.districts[pos] == params.district
        if params.accepting:
            keep &= grid.accepting[pos]
        if params.language:
            keep &= grid.mask("languages", params.language)[pos]
        if reader.has_deletions():
            keep &= ~np.isin(grid.docnums[pos], np.fromiter(reader.deleted_docs_set, dtype=np.int64))
        exact = keep & (km >= radius * (1 - EXACT_MARGIN))  # near the edge: decide exactly
        for i in np.nonzero(exact)[0]:
            km[i] = distance_km(lat0, lon0, grid.lats[pos[i]], grid.lons[pos[i]])
        keep &= km <= radius
        pos = pos[keep]
        parts.append(
            _Pool(
                grid.docnums[pos] + offset,
                km[keep],
                exact[keep],
                grid.services[pos],
                grid.lats[pos],
                grid.lons[pos],
                np.full(len(pos), math.inf),
            )
        )
    return _Pool.concat(parts)


def _covering(
    searcher: Searcher, params: SearchParams, area_keys: Sequence[str], origin: Origin, radius: float
) -> dict[int, float]:
    """Documents (global numbers) of services whose area covers the place and that pass the filters,
    each with the distance its narrowest covering area ranks it at. With a district filter, an area
    in that district (or the whole city) passes it, wherever the service's office is."""
    filt = _filter_terms(replace(params, district=None))
    if params.district:
        area_keys = [key for key in area_keys if key == CITY_KEY or key[2:].split("/")[0] == params.district]
    reader = searcher.reader()
    found: dict[int, float] = {}
    for key in area_keys:
        if not reader.doc_frequency("areas", key):
            continue
        rank_km = _area_rank_km(key, radius)
        for docnum in searcher.docs_for_query(Term("areas", key)):  # one posting list: no filter read whole
            found[docnum] = min(found.get(docnum, math.inf), rank_km)
    if found and filt is not None:
        docs = np.fromiter(found, dtype=np.int64, count=len(found))
        passing = docs[_matching(searcher, filt, docs)[0]]
        found = {int(docnum): found[int(docnum)] for docnum in passing}
    return found


def _with_areas(searcher: Searcher, pool: _Pool, covered: dict[int, float], origin: Origin, radius: float) -> _Pool:
    """The pool with the covering areas marked, and the covered documents not in it yet added (with
    their distance when they are located inside the radius)."""
    if not covered:
        return pool
    docs = np.fromiter(covered, dtype=np.int64, count=len(covered))
    area_km = np.fromiter(covered.values(), dtype=np.float64, count=len(covered))
    in_pool = np.isin(pool.docs, docs)
    if in_pool.any():
        order = np.argsort(docs)
        pool.area_km[in_pool] = area_km[order[np.searchsorted(docs, pool.docs[in_pool], sorter=order)]]
    new = ~np.isin(docs, pool.docs)
    docs, area_km = docs[new], area_km[new]
    if not len(docs):
        return pool
    services = by_leaf(searcher, docs, lambda reader, local: service_numbers(reader)[local])
    lats = by_leaf(searcher, docs, lambda reader, local: _column(reader, "lat_col", local))
    lons = by_leaf(searcher, docs, lambda reader, local: _column(reader, "lon_col", local))
    # A covered service located outside the radius shows no distance: its area, not its office, is
    # why it is here (the located documents inside the radius are in the pool already).
    kms = np.full(len(docs), math.inf)
    return _Pool.concat([pool, _Pool(docs, kms, np.zeros(len(docs), dtype=bool), services, lats, lons, area_km)])


def _column(reader, name: str, local: np.ndarray) -> np.ndarray:
    column = reader.column_reader(name)
    return np.fromiter((column[int(d)] for d in local), dtype=np.float64, count=len(local))


def _docset(searcher: Searcher, docs: np.ndarray) -> DocSet:
    """The given documents (global numbers) as a query matching exactly them."""
    by_segment: dict[str, list[int]] = {}
    for reader, offset in leaves(searcher):
        inside = (docs >= offset) & (docs < offset + reader.doc_count_all())
        if inside.any():
            by_segment[segment_key(reader)] = (docs[inside] - offset).tolist()
    return DocSet(by_segment)


def _matching(searcher: Searcher, query: Query, docs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Which of ``docs`` match ``query`` (a mask over ``docs``), and their scores (0 elsewhere).

    Always scored: Whoosh's scored collector steps through the given documents with skip_to, while
    an unscored one reads every posting of both sides (IntersectionMatcher.all_ids)."""
    results = searcher.search(And([query, _docset(searcher, docs)]), limit=None, terms=False)
    matched = np.fromiter((docnum for _, docnum in results.top_n), dtype=np.int64)
    scores = np.zeros(len(docs))
    mask = np.zeros(len(docs), dtype=bool)
    if len(matched):
        order = np.argsort(docs)
        at = order[np.searchsorted(docs, matched, sorter=order)]
        mask[at] = True
        scores[at] = [score or 0.0 for score, _ in results.top_n]
    return mask, scores


def _near(
    searcher: Searcher,
    text_q: Query | None,
    title_q: Query | None,
    params: SearchParams,
    origin: Origin,
    area_keys: Sequence[str],
    now: datetime,
    eligibility: EligibilityCheck | None,
) -> tuple[list[_Candidate], int, int | None]:
    """Services near a place: documents inside the radius (from the per-segment arrays) and documents
    of services whose area covers the place (``area_keys``, see directory/geo/areas.py), narrowed by
    the words, open now and hiding ineligible services into one mask applied once; one result per
    service. Returns the ranked candidates, their number, and how many services were hidden as
    ineligible (when ``eligibility`` hides).

    The useful answer first: services the client is ineligible for rank last; by relevance, services
    whose names or categories match the words rank above those matching only in their other text,
    and among equals the nearer (or covering) first; by distance, the nearer first.
    """
    radius = params.effective_radius
    pool = _located(searcher, params, origin, radius)
    pool = _with_areas(searcher, pool, _covering(searcher, params, area_keys, origin, radius), origin, radius)
    if not len(pool):
        return [], 0, 0 if eligibility is not None and eligibility.hide else None
    keep = np.ones(len(pool), dtype=bool)
    scores = np.zeros(len(pool))
    by_distance = params.effective_sort() == "distance" or text_q is None
    title = np.zeros(len(pool), dtype=bool)
    if text_q is not None:
        keep, scores = _matching(searcher, text_q, pool.docs)
        if not by_distance and title_q is not None and keep.any():
            title[keep] = _matching(searcher, title_q, pool.docs[keep])[0]
    if params.open_now:
        at = np.nonzero(keep)[0]
        keep[at] = [open_from_stored(searcher.stored_fields(int(pool.docs[i])).get("hours"), now) for i in at]
    ineligible = np.zeros(len(pool), dtype=bool)
    hidden = None
    if eligibility is not None:
        at = np.nonzero(keep)[0]
        ineligible[at] = eligibility.ineligible_global(searcher, pool.docs[at])
        if eligibility.hide:
            hidden = len(np.unique(pool.services[keep & ineligible]))  # a service's documents share its rules
            keep &= ~ineligible
    pool, scores, title, ineligible = pool.take(keep), scores[keep], title[keep], ineligible[keep]

    rank_km = np.minimum(pool.kms, pool.area_km)
    rounded = np.round(scores, 9)
    if by_distance:
        order = np.lexsort((pool.services, -rounded, rank_km, ineligible))
    else:
        order = np.lexsort((pool.services, -rounded, rank_km, ~title, ineligible))
    _, first = np.unique(pool.services[order], return_index=True)  # each service's best-ranked document
    ranked_idx = order[np.sort(first)]
    total = len(ranked_idx)
    end = params.page * params.per_page
    cut = end
    if by_distance and total:
        # Candidates within EXACT_MARGIN of the page's last distance may still change places.
        limit_km = rank_km[ranked_idx[min(end, total) - 1]] * (1 + EXACT_MARGIN)
        beyond = np.nonzero(rank_km[ranked_idx[end:]] > limit_km)[0]
        cut = end + (int(beyond[0]) if len(beyond) else max(0, total - end))
    ranked = [
        _Candidate(
            int(pool.docs[i]),
            float(scores[i]),
            float(pool.kms[i]) if pool.kms[i] != math.inf else None,
            bool(pool.exact[i]),
            float(pool.lats[i]),
            float(pool.lons[i]),
            service_id_of(int(pool.services[i])),
            float(pool.area_km[i]),
            bool(ineligible[i]),
        )
        for i in ranked_idx[:cut]
    ]
    if by_distance:
        _settle_page_order(ranked, params, origin)
    return ranked, total, hidden


def _settle_page_order(ranked: list[_Candidate], params: SearchParams, origin: Origin) -> None:
    """Exact order up to the page's end: approximate and exact distances differ by less than
    EXACT_MARGIN, so only candidates within that margin of the page's last one can change places."""
    end = params.page * params.per_page
    if not ranked[:end]:
        return
    limit_km = ranked[min(end, len(ranked)) - 1].rank_km * (1 + EXACT_MARGIN)
    cut = end
    while cut < len(ranked) and ranked[cut].rank_km <= limit_km:
        cut += 1
    for candidate in ranked[:cut]:
        if candidate.km is not None and not candidate.exact:
            candidate.km, candidate.exact = distance_km(origin[0], origin[1], candidate.lat, candidate.lon), True
    ranked[:cut] = sorted(ranked[:cut], key=lambda c: (c.ineligible, c.rank_km, -round(c.score, 9), c.service_id))


def _one_per_service(searcher, pool: list[_Candidate], by_distance: bool = False) -> list[_Candidate]:
    """Keep each service's best-ranked document (its nearest or best-matching location).

    Ties are broken by service id, so the order never depends on how documents fell into segments.
    """
    service_of = _service_column(searcher)
    for candidate in pool:
        candidate.service_id = service_of(candidate.docnum)
    if by_distance:
        pool.sort(key=lambda c: (c.km, -round(c.score, 9), c.service_id))
    else:
        pool.sort(key=lambda c: (-round(c.score, 9), c.km if c.km is not None else 0.0, c.service_id))
    seen: set[str] = set()
    kept = []
    for candidate in pool:
        service_id = candidate.service_id
        if service_id not in seen:
            seen.add(service_id)
            kept.append(candidate)
    return kept


def _service_column(searcher):
    reader = searcher.reader()
    if reader.has_column("service_id"):
        column = reader.column_reader("service_id")
        return lambda docnum: column[docnum]
    return lambda docnum: searcher.stored_fields(docnum)["service_id"]


def _filter_terms(params: SearchParams) -> Query | None:
    parts: list[Query] = []
    if params.category:
        parts.append(Term("taxonomy", params.category))
    if params.district:
        parts.append(Term("district", params.district))
    if params.accepting:
        parts.append(Term("accepting", True))
    if params.language:
        parts.append(Term("languages", params.language))
    if not parts:
        return None
    return ConstantScoreQuery(And(parts) if len(parts) > 1 else parts[0], 0.0)


def _top_by_relevance(
    searcher, params: SearchParams, tiers: list[Query | None], hiding: EligibilityCheck | None
) -> tuple[list[_Candidate], int, bool, int | None]:
    """Words without a place, in tiers: for every word, services whose names or categories match come
    first (ranked among themselves), then services that match only in their other text (the partial
    query is one tier of its own). Each tier is Whoosh's top-k, widened until the page is full of
    distinct services; a tier is only read further when the one before it is exhausted, so broad words
    stay cheap. With ``hiding``, the collector passes over ineligible documents before scoring them."""
    filt = _filter_terms(params)
    want = params.page * params.per_page
    ranked: list[_Candidate] = []
    seen: set[str] = set()
    skipped: list[int] = []
    estimated = False
    for tier, query in enumerate(tiers):
        if query is None:
            continue
        if filt is not None:
            query = And([query, filt])
        found, exhaustive, collector = _top_services(searcher, query, want - len(ranked), seen, hiding)
        for candidate in found:
            candidate.km = float(tier)  # keeps the tiers in order when scores are compared later
        ranked.extend(found)
        seen.update(c.service_id for c in found)
        skipped.extend(collector.skipped)
        if not exhaustive:
            estimated = True
            break
    if not estimated:
        hidden = hiding.count_services(searcher, np.array(skipped, dtype=np.int64))[1] if hiding else None
        return ranked, len(ranked), False, hidden
    # Counting every match of a broad query costs more than the search itself: up to COUNT_LIMIT
    # matching documents are read unscored and their services counted exactly (those shown, when
    # hiding); beyond that, Whoosh's document-frequency bound is scaled by the services per document
    # (and the share shown) among the documents read.
    everything = tiers[-1]
    query = everything if filt is None else And([everything, filt])
    docnums = np.fromiter(islice(searcher.docs_for_query(query), COUNT_LIMIT + 1), dtype=np.int64)
    if len(docnums) <= COUNT_LIMIT:
        if hiding is None:
            return ranked, max(len(ranked), _count_services(searcher, docnums)), False, None
        shown, hidden = hiding.count_services(searcher, docnums)
        return ranked, max(len(ranked), shown), False, hidden
    bound = min(searcher.doc_count(), everything.estimate_size(searcher.reader()))
    share = 1.0 if hiding is None else 1 - float(hiding.ineligible_global(searcher, docnums).mean())
    per_document = _count_services(searcher, docnums) / len(docnums)
    return ranked, max(len(ranked), round(bound * per_document * share)), True, None


def _count_services(searcher, docnums: np.ndarray) -> int:
    """How many services the documents (global numbers) belong to."""
    return len(np.unique(by_leaf(searcher, docnums, lambda reader, local: service_numbers(reader)[local])))


class _CappedTopCollector(TopCollector):
    """Whoosh's top-k collector that stops after ``cap`` matches, shared among segments by size.

    Scoring every match of a very broad word (tens of thousands of services) costs far more than a
    caseworker gains from ranking them all; the first ``cap`` in index order are ranked instead, and
    the caller reports the total as an estimate. Every segment gets its share, so recent edits (in
    small new segments) are never cut off.
    """

    def __init__(self, limit: int, cap: int, total_docs: int, hiding: EligibilityCheck | None = None):
        super().__init__(limit=limit)
        self.cap = cap
        self.total_docs = max(1, total_docs)
        self.capped = False
        self.hiding = hiding
        self.skipped: list[int] = []  # global numbers of the ineligible documents passed over

    def collect_matches(self):
        share = max(50, math.ceil(self.cap * self.subsearcher.doc_count_all() / self.total_docs))
        collect = self.collect
        skip = self.hiding.skipper(self.subsearcher.reader()) if self.hiding else None
        seen = 0
        for sub_docnum in self.matches():
            if skip is not None and skip(sub_docnum):
                self.skipped.append(self.offset + sub_docnum)
                continue
            if seen >= share:
                self.capped = True
                break
            collect(sub_docnum)
            seen += 1


def _top_services(
    searcher, query: Query, want: int, exclude: set[str], hiding: EligibilityCheck | None = None
) -> tuple[list[_Candidate], bool, _CappedTopCollector]:
    """The best-scoring services for ``query`` not in ``exclude``: at least ``want`` of them unless
    fewer match (then all, and exhaustive is True). Also returns the collector of the last pass."""
    limit = max(want, 1) * 2 + 10
    cap = max(MATCH_CAP, want * 20)
    while True:
        collector = _CappedTopCollector(limit, cap, searcher.doc_count_all(), hiding)
        searcher.search_with_collector(query, collector)
        results = collector.results()
        pool = [_Candidate(docnum, score=score) for score, docnum in results.top_n]
        found = [c for c in _one_per_service(searcher, pool) if c.service_id not in exclude]
        exhaustive = not collector.capped and results.scored_length() < limit
        if len(found) >= want or exhaustive or collector.capped:
            return found, exhaustive, collector
        limit *= 4


def _everything(
    searcher, text_q, params: SearchParams, now, hiding: EligibilityCheck | None
) -> tuple[list[_Candidate], int, int | None]:
    """No place and no ranking by words (browsing by filters, or open now): all matches."""
    filt = _filter_terms(params)
    parts = [q for q in (text_q, filt) if q is not None]
    query = (And(parts) if len(parts) > 1 else parts[0]) if parts else Every()
    results = searcher.search(query, limit=None, scored=text_q is not None, terms=False)
    pool = [_Candidate(docnum, score=score or 0.0) for score, docnum in results.top_n]
    if params.open_now:
        pool = [c for c in pool if open_from_stored(searcher.stored_fields(c.docnum).get("hours"), now)]
    hidden = None
    if hiding:
        docnums = np.fromiter((c.docnum for c in pool), dtype=np.int64, count=len(pool))
        ineligible = hiding.ineligible_global(searcher, docnums)
        hidden = hiding.count_services(searcher, docnums[ineligible])[1]
        pool = [c for c, out in zip(pool, ineligible, strict=True) if not out]
    ranked = _one_per_service(searcher, pool)
    return ranked, len(ranked), hidden


def _open_badge(hours_json: str | None, now: datetime) -> bool | None:
    """Open at ``now`` by its hours; None when it lists no hours (a hotline, an online service)."""
    if not hours_json or not json.loads(hours_json).get("weekly"):
        return None
    return open_from_stored(hours_json, now)


def _page_hits(
    searcher: Searcher,
    ranked: list[_Candidate],
    params: SearchParams,
    origin: Origin | None,
    eligibility: EligibilityCheck | None,
    now: datetime,
) -> list[Hit]:
    start, end = (params.page - 1) * params.per_page, params.page * params.per_page
    hits = []
    for candidate in ranked[start:end]:
        fields = searcher.stored_fields(candidate.docnum)
        hit = _hit(fields, candidate.score)
        hit.partial = candidate.partial
        if origin is not None:
            if candidate.km is not None and not candidate.exact:
                candidate.km = distance_km(origin[0], origin[1], candidate.lat, candidate.lon)
            hit.distance_km = candidate.km
            hit.covers = candidate.covers
        hit.open_now = _open_badge(fields.get("hours"), now)
        if eligibility is not None:
            hit.eligibility = eligibility.verdict_for(searcher, candidate.docnum)
        hits.append(hit)
    return hits


def closest_term(
    reader, fieldnames: str | tuple[str, ...], word: str, maxdist: int, prefix: int = 1, prefer=None
) -> str | None:
    """The indexed term nearest to ``word`` (Damerau-Levenshtein distance up to ``maxdist``) in any of
    ``fieldnames``, among those sharing its first ``prefix`` characters: the nearest first, then those
    ``prefer(term)`` accepts (when given), then the most frequent.

    One pass over the candidates, and the distance is computed only for terms whose length is within
    ``maxdist`` of the word's (Whoosh's own corrector scans the candidates once per distance and measures
    every one: a tenth of a second for a word starting with a common letter at 100,000 services).
    """
    best: tuple[int, float, str] | None = None
    size = len(word)
    for fieldname in (fieldnames,) if isinstance(fieldnames, str) else fieldnames:
        field = reader.schema[fieldname]
        for raw in reader.expand_prefix(fieldname, word[:prefix]):
            term = field.from_bytes(raw)
            if term == word or abs(len(term) - size) > maxdist:
                continue
            dist = levenshtein_distance(term, word, limit=maxdist)
            if dist > maxdist:
                continue
            key = (dist, not prefer(term) if prefer else False, -reader.frequency(fieldname, term), term)
            if best is None or key < best:
                best = key
    return best[-1] if best else None


def _matches_anything(searcher, query: Query | None) -> bool:
    return query is not None and next(iter(searcher.docs_for_query(query)), None) is not None


def _suggest(searcher, text: TextQuery) -> str | None:
    """The query with each word that matches nothing replaced by the nearest real word of the catalog
    (from ``spell``, and for a Latin word also ``pinyin``); None when no word could be corrected.

    Chinese: jieba cuts a mistyped word into characters (低宝 → 低 宝), so a run of units that match
    nothing, together with the single characters beside them, is corrected as one word; among words as
    near, one that sounds the same (低保 for 低宝) is preferred.
    """
    reader = searcher.reader()
    units = text.units

    def lone_character(k: int) -> bool:  # a Chinese character jieba left on its own, beside another
        return (
            not units[k].matched
            and len(units[k].text) == 1
            and not units[k].text.isascii()
            and any(
                0 <= n < len(units) and len(units[n].text) == 1 and not units[n].text.isascii() for n in (k - 1, k + 1)
            )
        )

    dead = [
        lone_character(k)
        or (not unit.matched and not _matches_anything(searcher, TextQuery((unit,), text.synonyms).strict()))
        for k, unit in enumerate(units)
    ]
    if not any(dead):
        return None
    words: list[str] = []
    changed = False
    i = 0
    while i < len(units):
        if not dead[i]:
            words.append(units[i].text)
            i += 1
            continue
        j = i + 1
        if units[i].text.isascii():
            fieldnames: str | tuple[str, ...] = ("spell", "pinyin")
        else:  # one typo cut into characters (低宝 → 低 宝) is corrected as one word, from every listing word
            fieldnames = ("spell", "all")
            while j < len(units) and dead[j] and not units[j].text.isascii():
                j += 1
        word = "".join(unit.text for unit in units[i:j])
        if len(word) == 1 and not word.isascii():  # one character is no word to correct: left as typed
            words.append(word)
            i = j
            continue
        best = closest_term(reader, fieldnames, word, maxdist=1 if len(word) <= 4 else 2, prefer=_same_sound(word))
        if best is None and not word.isascii():
            best = _homophone(searcher, word)
        words.append(best or " ".join(unit.text for unit in units[i:j]))
        changed = changed or bool(best)
        i = j
    return " ".join(words) if changed else None


def _homophone(searcher, word: str) -> str | None:
    """A word of the catalog read as ``word`` is (托育 for 拖育): found through the pinyin keys of the
    names, then read off the best-matching listing's own words."""
    sound = pinyin_keys(word)[:1]
    if not sound:
        return None
    results = searcher.search(Term("pinyin", sound[0]), limit=1)
    if not results.scored_length():
        return None
    fields = results[0]
    text = " ".join(fields.get(name) or "" for name in ("name", "alt_name", "org_name", "description"))
    return next((w for w in cjk_words(text) if w != word and pinyin_keys(w)[:1] == sound), None)


def _same_sound(word: str):
    """For a Chinese word: a test that a candidate is read the same (低保 for 低宝)."""
    if word.isascii():
        return None
    sound = pinyin_keys(word)[:1]
    return lambda term: pinyin_keys(term)[:1] == sound
