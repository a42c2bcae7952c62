"""Ways out of a search that leaves no usable service: each one change to the search, with its count.

A search leaves no usable service when it finds nothing, or when every service on its first page is
one the client cannot use (not accepting referrals, or the client is not eligible). The ways out are
concrete: a radius of 10 km (or twice the radius past that), services not accepting referrals too,
one filter fewer, or the place without the words. Each is counted by running it, so the page can say
how many services it would show.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import replace

from directory.eligibility.rules import INELIGIBLE
from directory.search.engine import MAX_RADIUS_KM, SearchParams, SearchResult

WIDER_KM = 10.0
# Filter parameter → the change to the search that drops it.
_DROPS: dict[str, dict] = {
    "accepting": {"accepting": False},
    "open_now": {"open_now": False},
    "category": {"category": None},
    "district": {"district": None},
    "language": {"language": None},
    "hide_ineligible": {"hide_ineligible": False},
}


def leaves_nothing_usable(result: SearchResult) -> bool:
    """Nothing found, or every service on the first page is not accepting or ruled out for the client."""
    if result.total == 0:
        return True
    if result.params.page != 1:
        return False
    return all(
        not hit.accepting or (hit.eligibility is not None and hit.eligibility.status == INELIGIBLE)
        for hit in result.hits
    )


def wider_radius(radius: float) -> float | None:
    """10 km, or twice the radius once it is 10 km or more (up to the largest radius allowed)."""
    wider = WIDER_KM if radius < WIDER_KM else min(radius * 2, MAX_RADIUS_KM)
    return wider if wider > radius else None


def widenings(params: SearchParams, args: Mapping[str, list[str]]) -> list[tuple[str, dict, SearchParams]]:
    """(what, the page's new query arguments, the new search) for each way out of ``params``."""
    base = {name: values for name, values in args.items() if name != "page"}
    found: list[tuple[str, dict, SearchParams]] = []
    if params.near:
        wider = wider_radius(params.effective_radius)
        if wider is not None:
            found.append(("radius", {**base, "radius_km": [f"{wider:g}"]}, replace(params, radius_km=wider, page=1)))
    for name, change in _DROPS.items():
        if any(base.get(name, [])):
            rest = {key: values for key, values in base.items() if key != name}
            found.append((name, rest, replace(params, page=1, **change)))
    if params.q and (params.near or params.category or params.district):
        rest = {key: values for key, values in base.items() if key != "q"}
        found.append(("q", rest, replace(params, q="", page=1)))
    return found


def counted_widenings(
    params: SearchParams, args: Mapping[str, list[str]], count: Callable[[SearchParams], int]
) -> list[tuple[str, dict, int]]:
    """:func:`widenings` with the number of services each would show (``count`` runs a search)."""
    return [(what, new_args, count(new)) for what, new_args, new in widenings(params, args)]
