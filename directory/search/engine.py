"""The search: keyword (Chinese, English, pinyin, synonyms) × place and radius × filters.

Whoosh finds the candidates — text match, category, district, accepting, language, and a bounding
box around the place — so that distances are computed only for documents already inside the box.
Distances are ranked with a fast great-circle formula and made exact with geopy's geodesic wherever
it matters: for the results shown and for candidates near the radius edge.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, time

from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.query import And, Every, NumericRange, Or, Phrase, Query, Term

from directory.catalog.hours import is_open_at
from directory.catalog.models import DISTRICTS
from directory.geo.distance import bounding_box, distance_km
from directory.geo.geocoder import GeoResult
from directory.search.analysis import text_analyzer
from directory.search.index import SearchIndex
from directory.search.synonyms import Synonyms

TEXT_FIELDS = ("name", "alt_name", "org_name", "description", "taxonomy_text", "address", "eligibility")
SORTS = ("relevance", "distance")
MAX_PER_PAGE = 100
MAX_RADIUS_KM = 200.0
EARTH_RADIUS_KM = 6371.0088
EXACT_MARGIN = 0.006  # great-circle vs geodesic differ by < 0.6 %


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
    open_now: bool | None = None


@dataclass
class SearchResult:
    params: SearchParams
    hits: list[Hit]
    total: int
    place: GeoResult | None = None
    suggestion: str | None = None
    corrected_from: str | None = None

    @property
    def pages(self) -> int:
        return max(1, math.ceil(self.total / self.params.per_page))


# --- query building ------------------------------------------------------------------------------


def query_tokens(text: str) -> list[str]:
    """The analyzed words of a query: jieba's precise mode, without the index's extra sub-words."""
    return [token.text for token in text_analyzer()(text, mode="query")]


def _alternatives(token: str, synonyms: Synonyms | None) -> Query:
    terms: list[Query] = []
    forms = {token}
    if synonyms is not None:
        forms |= set(synonyms.expand(token))
    for form in sorted(forms):
        words = form.split() if isinstance(form, str) else list(form)
        for fieldname in TEXT_FIELDS:
            terms.append(Term(fieldname, words[0]) if len(words) == 1 else Phrase(fieldname, words))
    return Or(terms)


def text_query(q: str, synonyms: Synonyms | None) -> Query | None:
    """Every word of the query must match some field (through a synonym or its pinyin)."""
    clauses: list[Query] = []
    for chunk in q.split():
        tokens = query_tokens(chunk)
        pinyin = [Term("pinyin", chunk.lower())] if chunk.isascii() and chunk.isalpha() else []
        if not tokens and not pinyin:
            continue
        chunk_clauses = [_alternatives(token, synonyms) for token in tokens]
        if pinyin:
            text_part = And(chunk_clauses) if len(chunk_clauses) > 1 else (chunk_clauses[0] if chunk_clauses else None)
            clauses.append(Or([c for c in (text_part, *pinyin) if c is not None]))
        else:
            clauses.extend(chunk_clauses)
    if not clauses:
        return None
    return And(clauses) if len(clauses) > 1 else clauses[0]


def filter_query(params: SearchParams, box: tuple[float, float, float, float] | None) -> Query | None:
    parts: list[Query] = []
    if params.category:
        parts.append(Term("taxonomy", params.category))
    if params.district:
        parts.append(Term("district", params.district))
    if params.accepting:
        parts.append(Term("accepting", True))
    if params.language:
        parts.append(Term("languages", params.language))
    if box is not None:
        min_lat, max_lat, min_lon, max_lon = box
        parts.append(NumericRange("lat", min_lat, max_lat))
        parts.append(NumericRange("lon", min_lon, max_lon))
    if not parts:
        return None
    return And(parts) if len(parts) > 1 else parts[0]


# --- distances -----------------------------------------------------------------------------------


def great_circle_km(lat1: float, lon1: float, lat2: float, lon2: float) -> float:
    p1, p2 = math.radians(lat1), math.radians(lat2)
    dp, dl = p2 - p1, math.radians(lon2 - lon1)
    a = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(a)))


# --- open now ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Weekly:
    days: tuple[str, ...]
    opens_at: time
    closes_at: time


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
    weekly = [_Weekly(tuple(days.split(",")), _t(o), _t(c)) for days, o, c in data.get("weekly", [])]
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
        address=fields.get("address", ""),
        codes=[c for c in (fields.get("codes") or "").split(",") if c],
        latitude=fields.get("lat"),
        longitude=fields.get("lon"),
        accepting=bool(fields.get("accepting")),
        score=score,
    )


def _query_terms(q: str, synonyms: Synonyms | None) -> set[str]:
    terms: set[str] = set()
    for chunk in q.split():
        for token in query_tokens(chunk):
            terms.add(token)
            if synonyms is not None:
                for form in synonyms.expand(token):
                    terms.update(form.split() if isinstance(form, str) else form)
    return terms


def run_search(
    params: SearchParams,
    *,
    search_index: SearchIndex,
    synonyms: Synonyms | None,
    place: GeoResult | None,
    now: datetime,
) -> SearchResult:
    """Run one search. ``place`` is the resolved ``near`` point (None when no place was given)."""
    origin = place.point if place is not None and place.resolved else None
    radius = params.effective_radius
    box = bounding_box(origin[0], origin[1], radius) if origin else None
    text_q = text_query(params.q, synonyms) if params.q else None
    base = text_q if text_q is not None else Every()
    filt = filter_query(params, box)
    query = And([base, filt]) if filt is not None else base

    with search_index.searcher() as searcher:
        if searcher.doc_count() == 0:
            return SearchResult(params=params, hits=[], total=0, place=place)
        if origin is None and not params.open_now and params.effective_sort() == "relevance":
            hits, total = _top_by_relevance(searcher, query, params)
        else:
            hits, total = _all_ranked(searcher, query, params, origin, radius, now)
        suggestion = None
        if params.q and total == 0:
            suggestion = _suggest(searcher, params.q)

    result = SearchResult(params=params, hits=hits, total=total, place=place, suggestion=suggestion)
    if total == 0 and suggestion and suggestion != params.q:
        corrected = run_search(
            replace(params, q=suggestion), search_index=search_index, synonyms=synonyms, place=place, now=now
        )
        if corrected.total:
            corrected.corrected_from = params.q
            corrected.suggestion = suggestion
            return corrected
    terms = _query_terms(params.q, synonyms) if params.q else set()
    for hit in result.hits:
        hit.snippet = snippet(hit._description, terms)  # type: ignore[attr-defined]
    return result


def _top_by_relevance(searcher, query: Query, params: SearchParams) -> tuple[list[Hit], int]:
    """Keyword search without a place: Whoosh's top-k by score, one result per service."""
    want = params.page * params.per_page
    results = searcher.search(query, limit=want, collapse="service_id")
    start = (params.page - 1) * params.per_page
    hits = []
    for hit in list(results)[start:want]:
        fields = hit.fields()
        found = _hit(fields, hit.score)
        found._description = fields.get("description", "")  # type: ignore[attr-defined]
        hits.append(found)
    return hits, _collapsed_total(searcher, query)


def _collapsed_total(searcher, query: Query) -> int:
    """Number of services (not documents) matching, counted through the service_id column."""
    docnums = searcher.docs_for_query(query)
    reader = searcher.reader()
    if reader.has_column("service_id"):
        column = reader.column_reader("service_id")
        return len({column[docnum] for docnum in docnums})
    return len({searcher.stored_fields(docnum)["service_id"] for docnum in docnums})


@dataclass
class _Candidate:
    docnum: int
    score: float
    km: float | None = None
    exact: bool = False


def _all_ranked(searcher, query: Query, params, origin, radius, now) -> tuple[list[Hit], int]:
    """Every candidate ranked: by distance, or by relevance with distance breaking ties."""
    results = searcher.search(query, limit=None, scored=bool(params.q), terms=False)
    reader = searcher.reader()
    lat_col, lon_col = reader.column_reader("lat_col"), reader.column_reader("lon_col")

    def settle(candidate: _Candidate) -> None:
        if not candidate.exact:
            candidate.km = distance_km(origin[0], origin[1], lat_col[candidate.docnum], lon_col[candidate.docnum])
            candidate.exact = True

    candidates: list[_Candidate] = []
    for score, docnum in results.top_n:
        candidate = _Candidate(docnum, score or 0.0)
        if origin is not None:
            lat, lon = lat_col[docnum], lon_col[docnum]
            if not lat and not lon:  # a service without a location has no distance
                continue
            candidate.km = great_circle_km(origin[0], origin[1], lat, lon)
            if candidate.km > radius * (1 + EXACT_MARGIN):
                continue
            if candidate.km >= radius * (1 - EXACT_MARGIN):  # near the edge: decide exactly
                settle(candidate)
                if candidate.km > radius:
                    continue
        candidates.append(candidate)

    stored = searcher.stored_fields
    if params.open_now:
        candidates = [c for c in candidates if open_from_stored(stored(c.docnum).get("hours"), now)]

    by_distance = origin is not None and (params.effective_sort() == "distance" or not params.q)
    if by_distance:
        candidates.sort(key=lambda c: (c.km, -c.score))
    else:
        candidates.sort(key=lambda c: (-c.score, c.km if c.km is not None else 0.0))

    service_col = reader.column_reader("service_id") if reader.has_column("service_id") else None
    seen: set[str] = set()
    ranked: list[_Candidate] = []
    for candidate in candidates:  # one per service: its best-ranked location
        service_id = service_col[candidate.docnum] if service_col else stored(candidate.docnum)["service_id"]
        if service_id not in seen:
            seen.add(service_id)
            ranked.append(candidate)
    total = len(ranked)
    start, end = (params.page - 1) * params.per_page, params.page * params.per_page

    if by_distance and ranked[:end]:
        # Exact order up to the page's end: approximate and exact distances differ by less than
        # EXACT_MARGIN, so only candidates within that margin of the page's last one can move.
        limit_km = ranked[min(end, total) - 1].km * (1 + EXACT_MARGIN)
        cut = end
        while cut < total and ranked[cut].km <= limit_km:
            cut += 1
        window = ranked[:cut]
        for candidate in window:
            settle(candidate)
        window.sort(key=lambda c: (c.km, -c.score))
        ranked[:cut] = window

    hits = []
    for candidate in ranked[start:end]:
        fields = stored(candidate.docnum)
        hit = _hit(fields, candidate.score)
        if origin is not None:
            settle(candidate)
            hit.distance_km = candidate.km
        hit._description = fields.get("description", "")  # type: ignore[attr-defined]
        if params.open_now:
            hit.open_now = True
        hits.append(hit)
    return hits, total


def _suggest(searcher, q: str) -> str | None:
    """A corrected query: each word replaced by the closest indexed term where that helps."""
    words, changed = [], False
    for chunk in q.split():
        best = None
        if searcher.search(text_query(chunk, None) or Every(), limit=1).scored_length() == 0:
            found = searcher.suggest("spell", chunk.lower(), limit=1, maxdist=1 if len(chunk) <= 4 else 2)
            best = found[0] if found else None
        if best:
            changed = True
        words.append(best or chunk)
    return " ".join(words) if changed else None
