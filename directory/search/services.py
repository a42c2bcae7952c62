"""Search as the pages and the API use it: parameters in, results (or a clear error) out."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import current_app

from directory.catalog.cache import catalog_version, taxonomy
from directory.clock import local_now, local_today
from directory.geo.geocoder import GeoResult, resolve_for_app
from directory.search.eligibility import EligibilityCheck
from directory.search.engine import ParamError, SearchParams, SearchResult, parse_params, run_search
from directory.search.index import get_index, try_catch_up
from directory.search.synonyms import Synonyms, seed_synonyms
from directory.vocabulary import LANGUAGE_CHOICES

LANGUAGE_CODES = {code for code, _ in LANGUAGE_CHOICES}


def category_codes() -> frozenset[str]:
    return taxonomy().codes


def synonyms() -> Synonyms | None:
    return seed_synonyms(current_app.config["SEED_DIR"])


def read_params(args: Mapping[str, str]) -> SearchParams:
    return parse_params(args, known_categories=category_codes(), known_languages=LANGUAGE_CODES)


def ensure_current() -> None:
    """Apply catalog changes other workers committed since this index last caught up."""
    index = get_index()
    latest, _ = catalog_version()  # the newest outbox id, read once per request
    if latest > index.cursor() or index.gaps():
        try_catch_up(wait=0)  # never queue a search behind another process's index update


def search(
    params: SearchParams, facts: Mapping[str, Any] | None = None, place: GeoResult | None = None
) -> SearchResult:
    """Resolve the place, then search. An unresolved place gives an empty result carrying its message.

    The one way into search: the /search page, ``GET /api/v1/search``, ``GET /api/v1/services?search=``
    and a referral's alternatives all come here, so the same words are understood the same way
    everywhere (see docs/search.md). ``place`` is an already resolved place (a saved client's), used
    instead of resolving ``params.near``.

    ``facts`` is a client's situation in the evaluator's vocabulary (a saved client's ``facts``, or
    ``ClientFactsForm.to_facts()``): each hit then carries its eligibility verdict, and with
    ``params.hide_ineligible`` the services the client is not eligible for are left out (counted in
    ``result.hidden``). Without facts nothing is evaluated.
    """
    ensure_current()
    if place is None and params.near:
        place = resolve_for_app(params.near)
    if place is not None and not place.resolved:
        return SearchResult(params=params, hits=[], total=0, place=place)
    check = EligibilityCheck(facts, local_today(), hide=params.hide_ineligible) if facts else None
    return run_search(
        params, search_index=get_index(), synonyms=synonyms(), place=place, now=local_now(), eligibility=check
    )


# At most this many services are ranked for a caller that pages through them itself (the HSDS API).
MAX_RANKED = 10_000


def ranked_service_ids(words: str) -> list[str]:
    """The ids of the services the words find, best first, as /search ranks them (corrections and
    partial matches included): for ``GET /api/v1/services?search=`` and ``/service_at_locations``."""
    if not words.strip():
        return []
    result = search(SearchParams(q=words.strip()[:200], per_page=MAX_RANKED))
    return [hit.service_id for hit in result.hits]


__all__ = ["ParamError", "SearchParams", "SearchResult", "ranked_service_ids", "read_params", "search"]
