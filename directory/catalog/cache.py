"""What changes only with the catalog, computed once per catalog version and kept in this process.

Every catalog change writes rows to the search outbox (``search_change``) in its own transaction
(``directory.search.sync``), taxonomy term edits included. The newest outbox id is therefore a
version of the catalog that every worker process and every server reads from the shared database:
a value cached under one version is recomputed when a request sees another. Nothing has to be told
about a change, and nothing is invalidated by hand.

The version is read once per request (one small statement), before anything that depends on it, so
a cached value is never older than its version. On PostgreSQL it is ``(newest id, rows among the
newest VERSION_WINDOW ids)``: a transaction can commit a lower id after a higher one was seen (ids come
from a sequence at insert time), and the count notices it, as the index's gaps do. SQLite has one
writer at a time, so ids become visible in order and the newest id is enough (counting the window
would cost about 0.4 ms a request with a long outbox).

Values are kept per app (``app.extensions``), so several apps in one process (the tests) never share
them. Cached values are plain objects, never ORM instances, so they are safe across sessions and
threads.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterator
from typing import Any, TypeVar

from flask import current_app, g, has_app_context
from sqlalchemy import func, select

from directory.catalog import services as catalog_services
from directory.catalog.models import TaxonomyTerm
from directory.catalog.outbox import SearchChange
from directory.extensions import db

VERSION_WINDOW = 10_000  # as GAP_WINDOW in directory.search.index
MAX_ENTRIES = 1000  # values kept per app in the bounded store
T = TypeVar("T")


def catalog_version() -> tuple[int, int]:
    """The catalog's version: the newest outbox id and how many rows the newest ids hold (per request)."""
    version = g.get("_catalog_version")
    if version is None:
        if db.session.get_bind().dialect.name == "sqlite":
            # One writer at a time: ids become visible in order, so the newest id alone is the version.
            version = (db.session.scalar(select(func.max(SearchChange.id))) or 0, 0)
        else:
            newest = select(func.max(SearchChange.id)).scalar_subquery()
            latest, recent = db.session.execute(
                select(func.max(SearchChange.id), func.count()).where(SearchChange.id > newest - VERSION_WINDOW)
            ).one()
            version = (latest or 0, recent)
        g._catalog_version = version
    return version


def forget_version() -> None:
    """Read the version again at its next use: this request's session committed or rolled back catalog
    changes (called by ``directory.search.sync``)."""
    if has_app_context():
        g.pop("_catalog_version", None)


def cached(key: Hashable, compute: Callable[[], T], bounded: bool = False) -> T:
    """``compute()``, or its value kept from an earlier request at the same catalog version.

    ``bounded``: the key holds values from the request (search filters), so it goes to a separate
    store of at most MAX_ENTRIES values, the oldest dropped first; the others are never crowded out.
    """
    if db.session.info.get("search_queued"):  # this transaction changed the catalog and has not committed
        return compute()
    name = "catalog_cache_bounded" if bounded else "catalog_cache"
    store: dict[Hashable, tuple[tuple[int, int], Any]] = current_app.extensions.setdefault(name, {})
    version = catalog_version()
    hit = store.get(key)
    if hit is not None and hit[0] == version:
        return hit[1]
    value = compute()
    store.pop(key, None)
    while bounded and len(store) >= MAX_ENTRIES:
        del store[next(iter(store))]
    store[key] = (version, value)
    return value


# --- the taxonomy ---------------------------------------------------------------------------------


class Term:
    """A taxonomy term as the pages show it; the same reading interface as ``TaxonomyTerm``."""

    __slots__ = ("id", "code", "name", "name_en", "parent", "children")

    def __init__(self, id: str, code: str, name: str, name_en: str | None) -> None:
        self.id, self.code, self.name, self.name_en = id, code, name, name_en
        self.parent: Term | None = None
        self.children: list[Term] = []

    def label(self, locale: str = "zh") -> str:
        return self.name_en if locale == "en" and self.name_en else self.name

    def ancestors(self) -> list[Term]:
        chain, node = [], self.parent
        while node is not None:
            chain.append(node)
            node = node.parent
        return chain

    def __repr__(self) -> str:
        return f"Term({self.code!r})"


class Taxonomy:
    """The whole taxonomy: the top-level terms in order, each with its children in order, and every term by code."""

    def __init__(self, terms: list[Term], top: list[Term]) -> None:
        self.by_code = {term.code: term for term in terms}
        self.top = top
        self.codes = frozenset(self.by_code)

    def __iter__(self) -> Iterator[Term]:
        return iter(self.by_code.values())


def _load_taxonomy() -> Taxonomy:
    rows = db.session.execute(
        select(
            TaxonomyTerm.id, TaxonomyTerm.code, TaxonomyTerm.name, TaxonomyTerm.name_en, TaxonomyTerm.parent_id
        ).order_by(TaxonomyTerm.position, TaxonomyTerm.code)
    ).all()
    by_id = {row.id: Term(row.id, row.code, row.name, row.name_en) for row in rows}
    top = []
    for row in rows:
        term = by_id[row.id]
        parent = by_id.get(row.parent_id) if row.parent_id else None
        if parent is None:
            top.append(term)
        else:
            term.parent = parent
            parent.children.append(term)
    return Taxonomy(list(by_id.values()), top)


def taxonomy() -> Taxonomy:
    """The taxonomy at the current catalog version."""
    return cached("taxonomy", _load_taxonomy)


def term_labels(locale: str) -> dict[str, str]:
    """Category code → its name in ``locale``, at the current catalog version."""
    return cached(("term_labels", locale), lambda: {term.code: term.label(locale) for term in taxonomy()})


def category_choices(locale: str) -> list[tuple[str, str]]:
    """Every category as a form choice, in the taxonomy's order: each term followed by its sub-categories,
    which are indented with one "— " per level."""

    def build() -> tuple[tuple[str, str], ...]:
        choices: list[tuple[str, str]] = []

        def add(term: Term, depth: int) -> None:
            choices.append((term.code, "— " * depth + term.label(locale)))
            for child in term.children:
                add(child, depth + 1)

        for term in taxonomy().top:
            add(term, 0)
        return tuple(choices)

    return list(cached(("category_choices", locale), build))


# --- counts ---------------------------------------------------------------------------------------


def count_by_district() -> dict[str, int]:
    """Active services with an active location in each district, at the current catalog version."""
    return cached("count_by_district", catalog_services.count_by_district)
