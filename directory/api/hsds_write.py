"""HSDS 3.0 in, writing: upserts by id, ids for children that several owners share, the collections a
record states replaced (what it leaves out kept), and the import's report. Flushes, never commits."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm.attributes import flag_modified

from directory.api.hsds_common import derived_id
from directory.api.hsds_map import TermMapper, _column_limits
from directory.api.hsds_read import COLLECTIONS, MISSING, ParentSkipped, RecordError, Row
from directory.catalog.models import (
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceArea,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.extensions import db


@dataclass
class ImportReport:
    created: Counter = field(default_factory=Counter)
    updated: Counter = field(default_factory=Counter)
    unchanged: int = 0
    records: int = 0
    errors: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    not_modelled: Counter = field(default_factory=Counter)  # HSDS parts we do not keep
    skipped_with_parent: int = 0
    terms_mapped: int = 0
    terms_kept: int = 0
    new_ids: set[tuple[str, str | None]] = field(default_factory=set)

    def count(self, kind: str, created: bool | None, obj_id: str | None = None) -> None:
        """Count a record created (True), updated (False) or unchanged (None); a change to a record
        created earlier in the same import counts once, as created."""
        if created:
            self.created[kind] += 1
            self.new_ids.add((kind, obj_id))
        elif (kind, obj_id) in self.new_ids:
            return
        elif created is None:
            self.unchanged += 1
        else:
            self.updated[kind] += 1


class CatalogWriter:
    """The writing half of an import: what was applied, failed and seen, and how rows reach the catalog."""

    def __init__(self, term_map_entries: list[dict] | None = None):
        self.report = ImportReport()
        self.mapper = TermMapper(term_map_entries or [])
        self.term_ids: dict[str, str] = {}  # HSDS term id -> our term id (itself, or a term of ours it maps to)
        self.done: dict[str, set[str]] = defaultdict(set)  # table -> ids applied in this import
        self.failed: dict[str, set[str]] = defaultdict(set)  # table -> ids of invalid records
        self.claimed: dict[tuple[str, str], tuple[str, str]] = {}  # (table, id) -> owner, for child ids
        self.seen: dict[tuple[str, str, str], set[str]] = defaultdict(set)  # (owner table, id, key) -> child ids
        self.tainted: set[tuple[str, str, str]] = set()  # collections with an invalid child: not replaced
        self.sal_service: dict[str, str] = {}  # HSDS service_at_location id -> service id
        self.location_org: dict[str, str] = {}  # location id -> organization of a service offered there
        self.chosen_address: dict[str, tuple[str, bool]] = {}  # location id -> (where, physical) of the one kept
        self.last_modified: dict[str, datetime] = {}
        self.owner_rows: list[tuple[Row, str]] = []
        self.overrides: dict[tuple[str | None, str], Any] = {}  # (service id, field) -> our own value

    def _exists(self, model: type, table: str, obj_id: str | None) -> bool:
        if obj_id is None:
            return False
        if obj_id in self.failed[table]:
            raise ParentSkipped(table)
        return obj_id in self.done[table] or db.session.get(model, obj_id) is not None

    def _require(self, model: type, table: str, obj_id: str | None, field: str) -> str:
        """The id of a record this one links to, which must be imported or in the catalog already."""
        if obj_id is None:
            raise RecordError(f"'{field}' is required")
        if not self._exists(model, table, obj_id):
            raise RecordError(f"{table} {obj_id} {MISSING}")
        return obj_id

    def _upsert(self, model: type, obj_id: str, values: dict, kind: str):
        _column_limits(model, values)
        obj = db.session.get(model, obj_id)
        if obj is None:
            obj = model(id=obj_id, **values)
            db.session.add(obj)
            self.report.count(kind, True, obj_id)
            return obj
        changed = False
        for name, value in values.items():
            if getattr(obj, name) != value:
                setattr(obj, name, value)
                changed = True
        self.report.count(kind, False if changed else None, obj_id)
        return obj

    def _child_id(self, table: str, models: tuple[type, ...], raw_id: str, owner: tuple[str, str]) -> str:
        """The id to store a child under: its own, unless another owner holds that id (HSDS examples
        reuse one phone id for an organization, a service and a location): then one derived from both."""
        derived = derived_id(table, owner[1], raw_id)
        if any(_holder(db.session.get(model, derived)) == owner for model in models):
            self.claimed[(table, derived)] = owner
            return derived  # stored so by an earlier import: keep it, do not move ids around
        claimed = self.claimed.get((table, raw_id))
        taken = claimed is not None and claimed != owner
        for model in models:
            existing = db.session.get(model, raw_id)
            if existing is not None:
                taken = taken or _holder(existing) != owner
        child_id = derived if taken else raw_id
        self.claimed[(table, child_id)] = owner
        return child_id

    @staticmethod
    def _remove(model: type, obj_id: str) -> None:
        """A schedule that became a date range (or back) changes table under the same id."""
        obj = db.session.get(model, obj_id)
        if obj is not None:
            db.session.delete(obj)
            db.session.flush()

    def _see(self, owner_table: str, owner_id: str, key: str, child_id: str) -> None:
        self.seen[(owner_table, owner_id, key)].add(child_id)

    # -- after all rows --

    def _replace_collections(self) -> None:
        """Drop what a record's stated collections no longer hold (a removed phone, schedule …)."""
        for row, owner_id in self.owner_rows:
            for key in row.lists:
                if (row.table, owner_id, key) in self.tainted:
                    continue
                keep = self.seen.get((row.table, owner_id, key), set())
                with db.session.begin_nested():
                    self._drop_missing(row.table, owner_id, key, keep)

    def _drop_missing(self, owner_table: str, owner_id: str, key: str, keep: set[str]) -> None:
        if owner_table in ("organization", "location"):
            column = Phone.organization_id if owner_table == "organization" else Phone.location_id
            self._delete(Phone, "phone", (column == owner_id) & Phone.id.not_in(keep))
            return
        if key == "attributes":
            service = db.session.get(Service, owner_id)
            kept = [t for t in service.taxonomy_terms if t.id in keep]
            if len(kept) != len(service.taxonomy_terms):
                service.taxonomy_terms = kept
                self.report.count("service", False, owner_id)
            return
        targets = {
            "phones": [(Phone, "phone")],
            "schedules": [(Schedule, "schedule"), (ScheduleException, "schedule_exception")],
            "service_at_locations": [(ServiceAtLocation, "service_at_location")],
            "languages": [(Language, "language")],
            "required_documents": [(RequiredDocument, "required_document")],
            "service_areas": [(ServiceArea, "service_area")],
        }[key]
        for model, kind in targets:
            self._delete(model, kind, (model.service_id == owner_id) & model.id.not_in(keep))

    def _delete(self, model: type, kind: str, condition) -> None:
        for obj in db.session.scalars(select(model).where(condition)):
            db.session.delete(obj)
            self.report.updated[f"{kind} removed"] += 1
        db.session.flush()

    def _restore_last_modified(self) -> None:
        """Keep the source's last_modified even when a later row (a category, an extension) changed the service."""
        for service_id, moment in self.last_modified.items():
            service = db.session.get(Service, service_id)
            if service is not None and service.last_modified != moment:
                service.last_modified = moment
                flag_modified(service, "last_modified")


_OWNER_ATTRS = ("service_id", "location_id", "organization_id")
_COLLECTION_OF = {child: key for collections in COLLECTIONS.values() for key, child in collections.items()}


def _holder(obj) -> tuple[str, str] | None:
    """Which service, location or organization a stored child belongs to."""
    if obj is None:
        return None
    return next(((a, getattr(obj, a)) for a in _OWNER_ATTRS if getattr(obj, a, None)), None)


_OWNER_TABLE = {"service_id": "service", "location_id": "location", "organization_id": "organization"}
_EXTENSION_MODELS = {
    "service": Service,
    "organization": Organization,
    "location": Location,
    "taxonomy_term": TaxonomyTerm,
    "taxonomy": Taxonomy,
}


def _begin_real_transaction() -> None:
    """Make the driver open its transaction now. pysqlite starts one only at the first data change, so
    a SAVEPOINT issued before would run outside it and a released savepoint would commit for good (and
    ``--dry-run`` would write). A no-op UPDATE is valid SQL everywhere."""
    db.session.execute(text("UPDATE organization SET id = id WHERE 1 = 0"))
