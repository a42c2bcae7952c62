"""The Whoosh index on disk, kept in step with the database through the ``search_change`` outbox.

Every catalog change adds outbox rows in its own transaction (see ``directory.search.sync``). After a
commit, and before each search, the index applies the rows past its cursor, holding Whoosh's writer
lock so that one writer at a time updates it. A failed index write loses nothing: the rows stay, and
the next attempt catches up. Each index directory keeps its own cursor, so several app servers with
local indexes can all follow the one outbox in the shared database.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import selectinload
from whoosh import columns, fields, formats, index
from whoosh.index import LockError
from whoosh.query import Term

from directory.catalog.models import Location, Service, ServiceAtLocation, TaxonomyTerm
from directory.catalog.outbox import SearchChange
from directory.extensions import db
from directory.search.analysis import pinyin_analyzer, spelling_analyzer, text_analyzer
from directory.search.build import build_index
from directory.search.documents import service_documents
from directory.search.spatial import forget_segments_except, leaves, segment_key
from directory.search.synonyms import Synonyms, seed_synonyms

log = logging.getLogger(__name__)
SCHEMA_VERSION = 12  # 11: the organization's English name (org_alt_name); 12: service areas
CURSOR_FILE = "lianjie-cursor.json"
GAP_TTL_SECONDS = 600.0  # longer than any transaction that writes the outbox
GAP_WINDOW = 10_000  # how far below the newest applied id a missing id is still waited for
_local = threading.local()


class SpellingField(fields.FieldType):
    """Names and category words as people type them, only for "did you mean": never searched or
    scored, so it is indexed without frequencies or lengths."""

    def __init__(self) -> None:
        super().__init__(formats.Existence(), spelling_analyzer(), scorable=False)


def make_schema(synonyms: Synonyms | None = None) -> fields.Schema:
    """One analyzed text field (``all``) carries every searchable word, and ``title`` the names and
    categories alone (searched first); both also carry the marks of the ``synonyms`` groups they match.
    Display fields are stored only. The ``*_col`` columns let the search read coordinates and filter
    values per document without loading stored fields."""
    groups = synonyms.table if synonyms is not None else ()
    return fields.Schema(
        doc_id=fields.ID(unique=True, stored=True),
        service_id=fields.ID(stored=True, sortable=True),
        location_id=fields.STORED,
        # No positions (phrase=False): queries never ask for phrases, and postings stay small.
        all=fields.TEXT(analyzer=text_analyzer(groups), phrase=False),
        title=fields.TEXT(analyzer=text_analyzer(groups), phrase=False),  # names and categories only
        pinyin=fields.TEXT(analyzer=pinyin_analyzer(), phrase=False),
        spell=SpellingField(),
        name=fields.STORED,
        alt_name=fields.STORED,
        org_name=fields.STORED,
        org_alt_name=fields.STORED,
        description=fields.STORED,
        address=fields.STORED,
        eligibility=fields.STORED,
        taxonomy=fields.KEYWORD(commas=True),
        codes=fields.STORED,
        district=fields.ID(stored=True),
        accepting=fields.BOOLEAN(stored=True),
        languages=fields.KEYWORD(commas=True),
        areas=fields.KEYWORD(commas=True),  # service areas: "city", "d:番禺区", "s:番禺区/市桥街道"
        lat=fields.STORED,
        lon=fields.STORED,
        lat_col=fields.COLUMN(columns.NumericColumn("d", default=0.0)),
        lon_col=fields.COLUMN(columns.NumericColumn("d", default=0.0)),
        # "taxonomy codes with ancestors|district|accepting 0/1|language codes", for filtering geo candidates
        filter_col=fields.COLUMN(columns.VarBytesColumn()),
        hours=fields.STORED,
        # The service's eligibility rules as canonical JSON (see directory.search.eligibility)
        rules_col=fields.COLUMN(columns.VarBytesColumn()),
    )


class SearchIndex:
    """One index directory. Open it with ``SearchIndex(path, synonyms=…)`` (the synonyms its searches
    expand with); it is created when missing."""

    def __init__(self, path: str | os.PathLike, lock_timeout: float = 2.0, synonyms: Synonyms | None = None):
        self.path = Path(path)
        self.lock_timeout = lock_timeout
        self.synonyms = synonyms
        self.path.mkdir(parents=True, exist_ok=True)
        if not index.exists_in(self.path):
            index.create_in(self.path, make_schema(synonyms))
            self._write_cursor(0, built=True)
        self.ix = index.open_dir(self.path)
        self._searchers = threading.local()

    @property
    def needs_rebuild(self) -> bool:
        """True when the index on disk was built with another schema than this code's, or with other
        synonym groups."""
        state = self._state()
        return state.get("schema") != SCHEMA_VERSION or state.get("synonyms") != self._synonyms_fingerprint()

    def _synonyms_fingerprint(self) -> str | None:
        return self.synonyms.fingerprint if self.synonyms is not None else None

    # --- cursor: the last outbox row this index has applied ------------------------------------

    def _state(self) -> dict:
        try:
            return json.loads((self.path / CURSOR_FILE).read_text())
        except (OSError, ValueError):
            return {}

    def cursor(self) -> int:
        try:
            return int(self._state()["applied"])
        except (KeyError, TypeError, ValueError):
            return 0

    def gaps(self) -> dict[int, float]:
        """Outbox ids below the cursor not seen yet, with when they were first missed.

        On PostgreSQL, ids come from a sequence at insert time, so a transaction can commit a lower id
        after a higher one was applied; such an id is remembered here and applied when it appears. A gap
        older than GAP_TTL_SECONDS belonged to a transaction that rolled back and is forgotten.
        """
        try:
            return {int(k): float(v) for k, v in (self._state().get("gaps") or {}).items()}
        except (AttributeError, TypeError, ValueError):
            return {}

    def _write_cursor(self, applied: int, gaps: dict[int, float] | None = None, built: bool = False) -> None:
        """Save the cursor. What the index was built with (schema, synonyms) is recorded when it is
        created or rebuilt (``built``), and otherwise kept: catching up never makes a stale index current."""
        tmp = self.path / (CURSOR_FILE + ".tmp")
        previous = {} if built else self._state()
        state = {
            "applied": applied,
            "schema": SCHEMA_VERSION if built else previous.get("schema"),
            "synonyms": self._synonyms_fingerprint() if built else previous.get("synonyms"),
            "gaps": {str(k): v for k, v in (gaps or {}).items()},
        }
        tmp.write_text(json.dumps(state))
        os.replace(tmp, self.path / CURSOR_FILE)

    # --- writing -------------------------------------------------------------------------------

    def _writer(self):
        return self.ix.writer(timeout=self.lock_timeout)

    @contextmanager
    def sync_lock(self, timeout: float | None = None) -> Iterator[None]:
        """One updater at a time across processes, held over index commit and cursor write together.

        Raises ``LockError`` when another process holds it for longer than ``timeout`` seconds.
        """
        timeout = self.lock_timeout if timeout is None else timeout
        with _file_lock(self.path.with_name(self.path.name + ".lock"), timeout):
            yield

    def catch_up(self, batch: int = 2000, wait: float | None = None) -> int:
        """Apply the outbox rows past the cursor. Returns how many services were re-indexed.

        Raises ``LockError`` when another process is updating the index for longer than the timeout.
        """
        done = 0
        with self.sync_lock(timeout=wait):
            while True:
                cursor, gaps = self.cursor(), self.gaps()
                pending = SearchChange.id > cursor
                if gaps:
                    pending = or_(pending, SearchChange.id.in_(sorted(gaps)))
                query = select(SearchChange.id, SearchChange.service_id).where(pending)
                rows = db.session.execute(query.order_by(SearchChange.id).limit(batch)).all()
                now = time.time()
                fresh_gaps = {gap: seen for gap, seen in gaps.items() if now - seen < GAP_TTL_SECONDS}
                if not rows:
                    if fresh_gaps != gaps:
                        self._write_cursor(cursor, fresh_gaps)
                    return done
                writer = self._writer()
                try:
                    service_ids = list(dict.fromkeys(service_id for _, service_id in rows))
                    self._replace(writer, service_ids)
                    writer.commit()
                except BaseException:
                    writer.cancel()
                    raise
                applied = max(cursor, rows[-1][0])
                self._write_cursor(applied, _next_gaps(fresh_gaps, [r[0] for r in rows], cursor, applied, now))
                done += len(service_ids)

    def _replace(self, writer, service_ids: list[str]) -> None:
        for service_id in service_ids:
            writer.delete_by_term("service_id", service_id)
        for service in load_services(service_ids):
            for doc in service_documents(service):
                writer.add_document(**doc)

    def rebuild(
        self, progress: Callable[[int, int], None] | None = None, batch: int = 500, only_if_stale: bool = False
    ) -> int:
        """Rebuild the whole index from the database, with the current schema. Returns the number of
        documents. The new index is built beside the old one and swapped in when complete, so searches
        never see a half-built index. One rebuild at a time: another process's rebuild is waited for,
        and with ``only_if_stale`` an index it left current is not rebuilt again (returns 0)."""
        with _file_lock(self.path.with_name(self.path.name + ".rebuild-lock"), timeout=None):
            if only_if_stale and not self.needs_rebuild:
                self.ix = index.open_dir(self.path)
                return 0
            return self._rebuild(progress, batch)

    def _rebuild(self, progress: Callable[[int, int], None] | None, batch: int) -> int:
        latest = db.session.scalar(select(func.max(SearchChange.id))) or 0
        ids = list(db.session.scalars(select(Service.id).order_by(Service.id)))
        fresh = self.path.with_name(self.path.name + ".rebuild")
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir(parents=True)
        procs = max(1, min(os.cpu_count() or 1, 4, -(-len(ids) // batch)))  # no more workers than batches

        def batches() -> Iterator[list[dict]]:
            for start in range(0, len(ids), batch):
                services = load_services(ids[start : start + batch])
                docs = [doc for service in services for doc in service_documents(service)]
                db.session.expire_all()
                yield docs
                if progress:
                    progress(min(start + batch, len(ids)), len(ids))

        try:
            count = build_index(fresh, make_schema(self.synonyms), batches(), procs=procs)
        except BaseException:
            shutil.rmtree(fresh, ignore_errors=True)
            raise
        old = self.path.with_name(self.path.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        with self.sync_lock(timeout=max(self.lock_timeout, 30)):
            os.replace(self.path, old)
            os.replace(fresh, self.path)
            self._write_cursor(latest, _unseen_ids(latest), built=True)
            self.ix = index.open_dir(self.path)
        shutil.rmtree(old, ignore_errors=True)
        return count

    # --- reading -------------------------------------------------------------------------------

    @contextmanager
    def searcher(self) -> Iterator:
        """A searcher over the latest committed index, kept open per thread between searches.

        Opening segment files costs more than most searches, so the searcher is reused until the
        index has a new generation. (Whoosh's own ``refresh()`` reuses a segment's reader by segment
        id and so misses new deletions in that segment; a fresh searcher does not.)
        """
        cache = self._searchers.__dict__
        previous = cache.get("searcher")
        if (
            previous is None
            or previous._ix is not self.ix
            or previous.reader().generation() != self.ix.latest_generation()
        ):
            if previous is not None:
                previous.close()
            current = self.ix.searcher()
        else:
            current = previous
        if current is not previous:
            forget_segments_except({segment_key(reader) for reader, _ in leaves(current)})
        cache["searcher"] = current
        yield current

    def indexed_doc_ids(self) -> set[str]:
        with self.ix.searcher() as searcher:
            return {fields_["doc_id"] for fields_ in searcher.all_stored_fields()}

    def documents_of(self, service_id: str) -> list[dict]:
        with self.ix.searcher() as searcher:
            return [dict(hit) for hit in searcher.search(Term("service_id", service_id), limit=None)]


@contextmanager
def _file_lock(path: Path, timeout: float | None) -> Iterator[None]:
    """An exclusive lock on ``path`` across processes; ``timeout=None`` waits as long as it takes.

    Raises ``LockError`` when another process holds it for longer than ``timeout`` seconds.
    """
    with open(path, "a+") as handle:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if deadline is not None and time.monotonic() >= deadline:
                    raise LockError(f"{path} is held by another process") from None
                time.sleep(0.02)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def load_services(service_ids: Iterable[str]) -> list[Service]:
    ids = list(service_ids)
    if not ids:
        return []
    return list(
        db.session.scalars(
            select(Service)
            .where(Service.id.in_(ids))
            .options(
                selectinload(Service.organization),
                selectinload(Service.taxonomy_terms)
                .selectinload(TaxonomyTerm.parent)
                .selectinload(TaxonomyTerm.parent),
                selectinload(Service.service_at_locations).selectinload(ServiceAtLocation.location),
                selectinload(Service.schedules),
                selectinload(Service.schedule_exceptions),
                selectinload(Service.languages),
                selectinload(Service.service_areas),
            )
        )
    )


def expected_doc_ids() -> set[str]:
    """The documents the database says the index should hold."""
    ids: set[str] = set()
    rows = db.session.execute(
        select(Service.id, Location.id, Location.active)
        .outerjoin(ServiceAtLocation, ServiceAtLocation.service_id == Service.id)
        .outerjoin(Location, Location.id == ServiceAtLocation.location_id)
        .where(Service.status == "active")
    ).all()
    per_service: dict[str, list[str]] = {}
    for service_id, location_id, active in rows:
        per_service.setdefault(service_id, [])
        if location_id is not None and active:
            per_service[service_id].append(location_id)
    for service_id, locations in per_service.items():
        if locations:
            ids.update(f"{service_id}:{loc}" for loc in locations)
        else:
            ids.add(f"{service_id}:-")
    return ids


def _next_gaps(gaps: dict[int, float], seen_ids: list[int], cursor: int, applied: int, now: float) -> dict[int, float]:
    """The gaps still open after applying ``seen_ids``: old ones not seen, plus ids skipped in this batch."""
    seen = set(seen_ids)
    still = {gap: first for gap, first in gaps.items() if gap not in seen}
    for missing in range(max(cursor + 1, applied - GAP_WINDOW), applied):
        if missing not in seen:
            still.setdefault(missing, now)
    return still


def _unseen_ids(latest: int) -> dict[int, float]:
    """Ids below ``latest`` (within the window) that no committed outbox row holds yet."""
    low = max(1, latest - GAP_WINDOW)
    present = set(db.session.scalars(select(SearchChange.id).where(SearchChange.id >= low, SearchChange.id <= latest)))
    now = time.time()
    return {i: now for i in range(low, latest) if i not in present}


def get_index(app=None, rebuild_stale: bool = True) -> SearchIndex:
    """This process's index for the app's SEARCH_INDEX_DIR (opened once per thread); one built with
    another schema or other synonyms is rebuilt first, unless ``rebuild_stale`` is False."""
    app = app or current_app
    path = app.config["SEARCH_INDEX_DIR"]
    cache = getattr(_local, "indexes", None)
    if cache is None:
        cache = _local.indexes = {}
    if path not in cache:
        timeout = app.config.get("SEARCH_LOCK_TIMEOUT", 2.0)
        search_index = SearchIndex(path, lock_timeout=timeout, synonyms=seed_synonyms(app.config["SEED_DIR"]))
        if search_index.needs_rebuild and rebuild_stale:
            log.warning("search index at %s has an old schema or other synonyms; rebuilding it from the database", path)
            search_index.rebuild(only_if_stale=True)
        cache[path] = search_index
    return cache[path]


def close_indexes() -> None:
    """Close this thread's indexes and their searchers, and forget them (before a fork: each worker opens
    its own files). What is kept per segment in memory (the place arrays) stays, to be reused."""
    for search_index in getattr(_local, "indexes", {}).values():
        searcher = search_index._searchers.__dict__.pop("searcher", None)
        if searcher is not None:
            searcher.close()
    _local.indexes = {}


def try_catch_up(app=None, wait: float | None = None) -> bool:
    """Apply pending changes; on failure log and return False (the changes stay queued).

    ``wait``: how long to wait for another process that is updating the index (default: the index's
    lock timeout). A search passes 0: whoever holds the lock is applying the same changes.
    """
    try:
        get_index(app).catch_up(wait=wait)
        return True
    except LockError:
        log.warning("search index busy; pending changes will be applied later")
    except Exception:
        log.exception("search index update failed; pending changes will be applied later")
    finally:
        db.session.rollback()  # end the read transaction the catch-up opened
    return False
