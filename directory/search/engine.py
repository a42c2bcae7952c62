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
from itertools import islice

import numpy as np
from markupsafe import Markup, escape
from whoosh import highlight
from whoosh.collectors import TopCollector
from whoosh.query import And, ConstantScoreQuery, Every, Or, Query, Term
from whoosh.support.levenshtein import distance as levenshtein_distance

from directory.catalog.hours import Recurrence, is_open_at, recurrence_from_fields
from directory.eligibility.rules import Verdict
from directory.geo.distance import bounding_box, distance_km
from directory.geo.districts import DISTRICTS
from directory.geo.geocoder import GeoResult
from directory.search.analysis import text_analyzer
from directory.search.eligibility import EligibilityCheck
from directory.search.index import SearchIndex
from directory.search.spatial import DocSet, grid_for, leaves, local_km, segment_key, service_id_of
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


def text_query(q: str, synonyms: Synonyms | None, fieldname: str = "all") -> Query | None:
    """Every word of the query must match (through a synonym, or as pinyin of a name).

    ``fieldname`` is ``all`` (every searchable word) or ``title`` (names and categories only).
    """
    clauses: list[Query] = []
    asked: set[frozenset[str]] = set()  # "methadone 美沙酮" asks for one synonym group, not two
    for chunk in q.split():
        tokens = query_tokens(chunk)
        pinyin = [Term("pinyin", chunk.lower())] if chunk.isascii() and chunk.isalpha() else []
        if not tokens and not pinyin:
            continue
        groups = [_forms(token, synonyms) for token in tokens]
        if tokens and all(group in asked for group in groups):
            continue
        asked.update(groups)
        chunk_clauses = [_alternatives(token, synonyms, fieldname) for token in tokens]
        if pinyin:
            text_part = And(chunk_clauses) if len(chunk_clauses) > 1 else (chunk_clauses[0] if chunk_clauses else None)
            clauses.append(Or([c for c in (text_part, *pinyin) if c is not None]))
        else:
            clauses.extend(chunk_clauses)
    if not clauses:
        return None
    return And(clauses) if len(clauses) > 1 else clauses[0]


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
        address=fields.get("address", ""),
        codes=[c for c in (fields.get("codes") or "").split(",") if c],
        latitude=fields.get("lat"),
        longitude=fields.get("lon"),
        accepting=bool(fields.get("accepting")),
        score=score,
        description=fields.get("description", ""),
    )


def _query_terms(q: str, synonyms: Synonyms | None) -> set[str]:
    """Words to highlight: the query's words and their one-word synonyms (a part of a several-word
    synonym, such as 门诊 in 美沙酮 门诊, would light up unrelated text)."""
    terms: set[str] = set()
    for chunk in q.split():
        for token in query_tokens(chunk):
            terms.update(form for form in _forms(token, synonyms) if isinstance(form, str) and " " not in form)
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
    """Run one search. ``place`` is the resolved ``near`` point (None when no place was given). When
    nothing matches, a corrected query is suggested and, with ``correct``, run instead if it finds something.

    With ``eligibility`` (a client's facts) every hit on the page carries its verdict, and when the
    check says ``hide`` the services the client is ineligible for are left out before ranking and
    counting, so totals and pages count only what is shown.
    """
    origin = place.point if place is not None and place.resolved else None
    text_q = text_query(params.q, synonyms) if params.q else None
    hiding = eligibility if eligibility is not None and eligibility.hide else None

    with search_index.searcher() as searcher:
        if searcher.doc_count() == 0:
            return SearchResult(params=params, hits=[], total=0, place=place, hidden=0 if hiding else None)
        estimated = False
        if origin is not None:
            ranked, total, hidden = _near(searcher, text_q, params, origin, now, hiding)
        elif text_q is not None and not params.open_now:
            ranked, total, estimated, hidden = _top_by_relevance(searcher, params, synonyms, hiding)
        else:
            ranked, total, hidden = _everything(searcher, text_q, params, now, hiding)
        hits = _page_hits(searcher, ranked, params, origin, eligibility)
        suggestion = _suggest(searcher, params.q) if params.q and total == 0 and correct else None

    result = SearchResult(
        params=params,
        hits=hits,
        total=total,
        place=place,
        suggestion=suggestion,
        total_is_estimate=estimated,
        hidden=hidden,
    )
    if total == 0 and suggestion and suggestion != params.q:
        corrected = run_search(
            replace(params, q=suggestion),
            search_index=search_index,
            synonyms=synonyms,
            place=place,
            now=now,
            eligibility=eligibility,
            correct=False,  # one correction: never a chain of them
        )
        if corrected.total:
            corrected.corrected_from = params.q
            corrected.suggestion = suggestion
            return corrected
    terms = _query_terms(params.q, synonyms) if params.q else set()
    for hit in result.hits:
        hit.snippet = snippet(hit.description, terms)
    return result


@dataclass
class _Candidate:
    docnum: int  # global document number in the searcher
    score: float = 0.0
    km: float | None = None
    exact: bool = False
    lat: float = 0.0
    lon: float = 0.0
    service_id: str = ""


def _near(
    searcher, text_q, params: SearchParams, origin, now, hiding: EligibilityCheck | None
) -> tuple[list[_Candidate], int, int | None]:
    """Documents inside the radius from the per-segment arrays, filtered by masks, then (with words)
    matched by Whoosh among those documents only; one result per service. Returns the ranked
    candidates, their number, and how many services were hidden as ineligible (with ``hiding``)."""
    radius = params.effective_radius
    lat0, lon0 = origin
    box = bounding_box(lat0, lon0, radius)
    found: list[tuple[np.ndarray, ...]] = []
    by_segment: dict[str, list[int]] = {}
    for reader, offset in leaves(searcher):
        grid = grid_for(reader)
        pos = grid.in_box(*box)
        if not len(pos):
            continue
        keep = np.ones(len(pos), dtype=bool)
        if params.category:
            keep &= grid.mask("taxonomy", params.category)[pos]
        if params.district:
            keep &= grid.districts[pos] == params.district
        if params.accepting:
            keep &= grid.accepting[pos]
        if params.language:
            keep &= grid.mask("languages", params.language)[pos]
        pos = pos[keep]
        km = local_km(lat0, lon0, grid.lats[pos], grid.lons[pos])
        close = km <= radius * (1 + EXACT_MARGIN)
        pos, km = pos[close], km[close]
        docnums = grid.docnums[pos]
        if reader.has_deletions():
            alive = ~np.isin(docnums, np.fromiter(reader.deleted_docs_set, dtype=np.int64))
            pos, km, docnums = pos[alive], km[alive], docnums[alive]
        exact = np.zeros(len(km), dtype=bool)
        for i in np.nonzero(km >= radius * (1 - EXACT_MARGIN))[0]:  # near the edge: decide exactly
            km[i] = distance_km(lat0, lon0, grid.lats[pos[i]], grid.lons[pos[i]])
            exact[i] = True
        inside = km <= radius
        pos, km, docnums, exact = pos[inside], km[inside], docnums[inside], exact[inside]
        if len(pos):
            ineligible = hiding.ineligible(reader, docnums) if hiding else np.zeros(len(docnums), dtype=bool)
            found.append((docnums + offset, km, exact, grid.services[pos], grid.lats[pos], grid.lons[pos], ineligible))
            by_segment[segment_key(reader)] = docnums.tolist()
    if not found:
        return [], 0, 0 if hiding else None
    docs, kms, exact, services, lats, lons, ineligible = (np.concatenate(column) for column in zip(*found, strict=True))
    scores = np.zeros(len(docs))

    if text_q is not None:
        results = searcher.search(And([text_q, DocSet(by_segment)]), limit=None, terms=False)
        position = {docnum: i for i, docnum in enumerate(docs.tolist())}
        matched = np.fromiter((position[docnum] for _, docnum in results.top_n), dtype=np.int64)
        scores[matched] = [score for score, _ in results.top_n]
        docs, kms, exact, services, lats, lons, scores, ineligible = (
            a[matched] for a in (docs, kms, exact, services, lats, lons, scores, ineligible)
        )
    if params.open_now:
        is_open = np.fromiter(
            (open_from_stored(searcher.stored_fields(int(d)).get("hours"), now) for d in docs), dtype=bool
        )
        docs, kms, exact, services, lats, lons, scores, ineligible = (
            a[is_open] for a in (docs, kms, exact, services, lats, lons, scores, ineligible)
        )
    hidden = None
    if hiding:
        hidden = len(np.unique(services[ineligible]))  # a service's documents share its rules
        shown = ~ineligible
        docs, kms, exact, services, lats, lons, scores = (
            a[shown] for a in (docs, kms, exact, services, lats, lons, scores)
        )

    by_distance = params.effective_sort() == "distance" or text_q is None
    rounded = np.round(scores, 9)
    order = np.lexsort((services, -rounded, kms)) if by_distance else np.lexsort((services, kms, -rounded))
    _, first = np.unique(services[order], return_index=True)  # each service's best-ranked document
    ranked_idx = order[np.sort(first)]
    total = len(ranked_idx)
    end = params.page * params.per_page
    if by_distance and total:
        # Candidates within EXACT_MARGIN of the page's last distance may still change places.
        limit_km = kms[ranked_idx[min(end, total) - 1]] * (1 + EXACT_MARGIN)
        cut = max(end, int(np.searchsorted(kms[ranked_idx], limit_km, side="right")))
    else:
        cut = end
    ranked = [
        _Candidate(
            int(docs[i]),
            float(scores[i]),
            float(kms[i]),
            bool(exact[i]),
            float(lats[i]),
            float(lons[i]),
            service_id_of(int(services[i])),
        )
        for i in ranked_idx[:cut]
    ]
    if by_distance:
        _settle_page_order(ranked, params, origin)
    return ranked, total, hidden


def _settle_page_order(ranked: list[_Candidate], params: SearchParams, origin) -> None:
    """Exact order up to the page's end: approximate and exact distances differ by less than
    EXACT_MARGIN, so only candidates within that margin of the page's last one can change places."""
    end = params.page * params.per_page
    if not ranked[:end]:
        return
    limit_km = ranked[min(end, len(ranked)) - 1].km * (1 + EXACT_MARGIN)
    cut = end
    while cut < len(ranked) and ranked[cut].km <= limit_km:
        cut += 1
    for candidate in ranked[:cut]:
        if not candidate.exact:
            candidate.km, candidate.exact = distance_km(origin[0], origin[1], candidate.lat, candidate.lon), True
    ranked[:cut] = sorted(ranked[:cut], key=lambda c: (c.km, -round(c.score, 9), c.service_id))


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
    searcher, params: SearchParams, synonyms: Synonyms | None, hiding: EligibilityCheck | None
) -> tuple[list[_Candidate], int, bool, int | None]:
    """Words without a place, in two tiers: services whose names or categories match come first
    (ranked among themselves), then services that match only in their other text. Each tier is
    Whoosh's top-k, widened until the page is full of distinct services; a tier is only read
    further when the one before it is exhausted, so broad words stay cheap. With ``hiding``, the
    collector passes over ineligible documents before scoring them."""
    filt = _filter_terms(params)
    want = params.page * params.per_page
    ranked: list[_Candidate] = []
    seen: set[str] = set()
    skipped: list[int] = []
    estimated = False
    for tier, fieldname in enumerate(("title", "all")):
        query = text_query(params.q, synonyms, fieldname)
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
    # Counting every match of a broad query costs more than the search itself: estimate it from
    # Whoosh's document-frequency bound for the full query.
    everything = text_query(params.q, synonyms, "all")
    bound = min(searcher.doc_count(), everything.estimate_size(searcher.reader())) if everything else 0
    if hiding is None or everything is None:
        return ranked, max(len(ranked), bound), True, None
    # Hiding: the total must count only what is shown. Read the matching documents unscored; up to
    # COUNT_LIMIT of them, count exactly, else scale the bound by the share shown among those read.
    query = everything if filt is None else And([everything, filt])
    docnums = np.fromiter(islice(searcher.docs_for_query(query), COUNT_LIMIT + 1), dtype=np.int64)
    if len(docnums) <= COUNT_LIMIT:
        shown, hidden = hiding.count_services(searcher, docnums)
        return ranked, max(len(ranked), shown), False, hidden
    share = 1 - float(hiding.ineligible_global(searcher, docnums).mean())
    return ranked, max(len(ranked), round(bound * share)), True, None


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


def _page_hits(
    searcher, ranked: list[_Candidate], params: SearchParams, origin, eligibility: EligibilityCheck | None
) -> list[Hit]:
    start, end = (params.page - 1) * params.per_page, params.page * params.per_page
    hits = []
    for candidate in ranked[start:end]:
        fields = searcher.stored_fields(candidate.docnum)
        hit = _hit(fields, candidate.score)
        if origin is not None:
            if not candidate.exact:
                candidate.km = distance_km(origin[0], origin[1], candidate.lat, candidate.lon)
            hit.distance_km = candidate.km
        if eligibility is not None:
            hit.eligibility = eligibility.verdict_for(searcher, candidate.docnum)
        hits.append(hit)
    return hits


def closest_term(reader, fieldnames: str | tuple[str, ...], word: str, maxdist: int, prefix: int = 1) -> str | None:
    """The indexed term nearest to ``word`` (Damerau-Levenshtein distance up to ``maxdist``) in any of
    ``fieldnames``, among those sharing its first ``prefix`` characters: the nearest first, then the
    most frequent.

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
            key = (dist, -reader.frequency(fieldname, term), term)
            if best is None or key < best:
                best = key
    return best[2] if best else None


def _suggest(searcher, q: str) -> str | None:
    """A corrected query: each word replaced by the closest indexed term where that helps."""
    words, changed = [], False
    for chunk in q.split():
        best = None
        if searcher.search(text_query(chunk, None) or Every(), limit=1).scored_length() == 0:
            # prefix=1: candidates share the first character, which keeps the term scan short.
            fieldnames = ("spell", "pinyin") if chunk.isascii() else "spell"
            best = closest_term(searcher.reader(), fieldnames, chunk.lower(), maxdist=1 if len(chunk) <= 4 else 2)
        if best:
            changed = True
        words.append(best or chunk)
    return " ".join(words) if changed else None
