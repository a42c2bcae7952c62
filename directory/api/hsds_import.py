"""HSDS 3.0 in: JSON (an object, a list, an API page, tabular JSON) and CSV datapackages → upserts by id.

Every input is first flattened into rows of HSDS tables (a nested JSON object becomes a row that knows
its parent's id), then the rows are applied table by table, parents first, each in its own savepoint:
a bad row is reported as ``where [id]: reason`` and leaves nothing behind, and the rest is imported.
``where`` is ``file.csv:LINE`` for CSV and ``file.json:/json/pointer`` for JSON.

What the mapping does (docs/hsds.md): ids are kept (non-UUID ids map to stable UUIDs); a collection a
record states (a JSON key present, or a CSV file in the package) replaces what we hold, one it leaves
out is left alone; organizations, services and locations are never deleted.

Three modules do the work by concern: ``hsds_read`` reads the formats into rows, ``hsds_map`` reads a
row's values as the catalog keeps them, ``hsds_write`` writes them (``CatalogWriter``); the ``Importer``
here maps each HSDS table onto the catalog's, row by row.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date
from pathlib import Path

from flask import current_app
from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError

from directory.api.hsds_areas import area_from_hsds
from directory.api.hsds_common import (
    EXTENSION_BY_TERM_ID,
    EXTENSION_TAXONOMY_ID,
    LIANJIE_TAXONOMY_ID,
    OVERRIDE_FIELDS,
    canonical_id,
    derived_id,
    guangzhou_district,
    is_number,
)
from directory.api.hsds_map import (
    _EMAIL,
    _URI,
    LANGUAGE_CODES_BY_NAME,
    SAFE_CODE,
    _column_limits,
    _is_unsafe_link,
    _preview,
    _Record,
    load_term_map,
)
from directory.api.hsds_read import (
    _CSV_WHERE,
    MERGED_TYPES,
    MISSING,
    OBJECT_TYPES,
    TABLE_ORDER,
    ParentSkipped,
    RecordError,
    Row,
    Skip,
    Source,
    classify,
    read_source,
)
from directory.api.hsds_write import (
    _COLLECTION_OF,
    _EXTENSION_MODELS,
    _OWNER_TABLE,
    CatalogWriter,
    ImportReport,
    _begin_real_transaction,
)
from directory.catalog.hours import (
    FREQUENCIES,
    MAX_INTERVAL,
    RecurrenceError,
    format_byday,
    parse_byday,
    parse_bymonthday,
)
from directory.catalog.models import (
    SERVICE_STATUSES,
    WEEKDAYS,
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
from directory.clock import local_today
from directory.eligibility.rules import rule_problems
from directory.extensions import db
from directory.geo.areas import AreaError
from directory.geo.gazetteer import default_gazetteer
from directory.vocabulary import SERVICE_LANGUAGE_NAMES


class Importer(CatalogWriter):
    """Apply the rows of a ``Source`` table by table, parents first, each in its own savepoint."""

    # -- driver --

    def run(self, source: Source, progress: Callable[[int, int], None] | None = None) -> ImportReport:
        report = self.report
        report.errors += source.errors
        report.warnings += source.warnings
        report.not_modelled.update(source.not_modelled)
        rows = self._prepare(source.rows)
        report.records = len(rows)
        _begin_real_transaction()
        handlers = {name: getattr(self, f"_apply_{name}") for name in TABLE_ORDER}
        for done, row in enumerate(rows, start=1):
            self._apply(row, handlers[row.table])
            if progress:
                progress(done, len(rows))
        self._replace_collections()
        self._restore_last_modified()
        db.session.flush()
        return report

    def _apply(self, row: Row, handler: Callable[[_Record], None]) -> None:
        try:
            with db.session.begin_nested():
                handler(_Record(row))
                db.session.flush()
        except Skip as exc:
            self.report.warnings.append(f"{row.label()}: {exc}")
            self.report.not_modelled[row.table] += 1
        except ParentSkipped:
            self.report.skipped_with_parent += 1
            self._fail(row)
        except RecordError as exc:
            self.report.errors.append(f"{row.label()}: {exc}")
            self._fail(row)
        except SQLAlchemyError as exc:
            reason = getattr(exc, "orig", None) or exc
            self.report.errors.append(f"{row.label()}: the database refused it ({str(reason).splitlines()[0]})")
            self._fail(row)

    def _fail(self, row: Row) -> None:
        """Remember an invalid record: its children are skipped with it, and the collection it belongs
        to is not replaced (what we hold of it stays)."""
        record_id = canonical_id(row.data.get("id"))
        if record_id:
            self.failed[row.table].add(record_id)
        key = _COLLECTION_OF.get(row.table)
        if key is None:
            return
        for link, owner in (
            ("service_id", "service"),
            ("organization_id", "organization"),
            ("location_id", "location"),
            ("link_id", "service"),
        ):
            owner_id = canonical_id(row.parent.get(link) or row.data.get(link))
            if owner_id:
                self.tainted.add((owner, owner_id, key))

    def _prepare(self, rows: list[Row]) -> list[Row]:
        """Merge repeated objects (the same organization nested in many services), order the tables."""
        merged: dict[tuple[str, str], Row] = {}
        result: list[Row] = []
        for row in rows:
            key_id = canonical_id(row.data.get("id"))
            if row.table in MERGED_TYPES and key_id:
                first = merged.get((row.table, key_id))
                if first is not None and _CSV_WHERE.search(row.where) and _CSV_WHERE.search(first.where):
                    self.report.errors.append(f"{row.label()}: the id is used twice (first at {first.where})")
                    continue
                if first is not None:
                    for name, value in row.data.items():
                        if first.data.get(name) in (None, ""):
                            first.data[name] = value
                    for name, value in row.parent.items():
                        first.parent.setdefault(name, value)
                    first.lists |= row.lists
                    continue
                merged[(row.table, key_id)] = row
            result.append(row)
        order = {name: i for i, name in enumerate(TABLE_ORDER)}
        result.sort(key=lambda r: order[r.table])  # stable: file order within a table
        terms = _parents_first([r for r in result if r.table == "taxonomy_term"])
        result = [r for r in result if r.table != "taxonomy_term"]
        position = next((i for i, r in enumerate(result) if order[r.table] > order["taxonomy_term"]), len(result))
        result[position:position] = terms
        self._plan_locations(result)
        self._plan_overrides(result)
        return result

    def _plan_overrides(self, rows: list[Row]) -> None:
        """Our own eligibility values sent beside the HSDS ones (see hsds_export.service_dict): the
        service takes them at once, so that a second import of the same file changes nothing."""
        for row in rows:
            if row.table != "attribute":
                continue
            rec = _Record(row)
            ext = EXTENSION_BY_TERM_ID.get(rec.ref("taxonomy_term_id") or "")
            if ext is not None and ext.entity == "service" and ext.field in OVERRIDE_FIELDS:
                try:
                    self.overrides[(rec.ref("link_id"), ext.field)] = ext.decode(row.data.get("value"))
                except ValueError:
                    continue  # reported when the attribute itself is applied

    def _plan_locations(self, rows: list[Row]) -> None:
        service_org = {}
        for row in rows:
            if row.table == "service":
                rec = _Record(row)
                service_org[canonical_id(row.data.get("id"))] = rec.ref("organization_id")
        for row in rows:
            rec = _Record(row)
            if row.table == "service_at_location":
                location_id, service_id = rec.ref("location_id"), rec.ref("service_id")
                if location_id and service_org.get(service_id):
                    self.location_org.setdefault(location_id, service_org[service_id])
            elif row.table == "address":
                location_id = rec.ref("location_id")
                if location_id is None:
                    continue
                physical = str(row.data.get("address_type") or "").strip() in ("", "physical")
                current = self.chosen_address.get(location_id)
                if current is None or (physical and not current[1]):
                    self.chosen_address[location_id] = (row.where, physical)

    # -- helpers --

    def _service_of(self, rec: _Record) -> str:
        """The service a phone, schedule or language belongs to: its own, or its service_at_location's."""
        service_id = rec.ref("service_id")
        if service_id:
            return self._require(Service, "service", service_id, "service_id")
        sal_id = rec.ref("service_at_location_id")
        if sal_id:
            if sal_id in self.failed["service_at_location"]:
                raise ParentSkipped("service_at_location")
            service_id = self.sal_service.get(sal_id)
            if service_id is None:
                sal = db.session.get(ServiceAtLocation, sal_id)
                service_id = sal.service_id if sal else None
            if service_id is None:
                raise RecordError(f"service_at_location {sal_id} {MISSING}")
            return service_id
        return ""

    def _formatted(self, rec: _Record, name: str, kind: str) -> str | None:
        """An email address or URI as HSDS formats them (so that our export stays valid); another
        value is left out with a warning rather than failing the whole record."""
        value = rec.text(name)
        if value is not None and kind == "uri" and _is_unsafe_link(value):
            raise RecordError(f"'{name}' {_preview(value)!r}: only http, https, mailto and tel links are accepted")
        if value is None or (_EMAIL if kind == "email" else _URI).match(value):
            return value
        self.report.warnings.append(f"{rec.row.label()}: '{name}' {_preview(value)!r} is not a valid {kind}; left out")
        return None

    # -- taxonomy --

    def _apply_taxonomy(self, rec: _Record) -> None:
        taxonomy_id = rec.id()
        if taxonomy_id == EXTENSION_TAXONOMY_ID:
            return  # our extension fields: understood, not stored
        values = {
            "name": rec.text("name", required=True),
            "description": rec.text("description"),
            "uri": self._formatted(rec, "uri", "uri"),
            "version": rec.text("version"),
        }
        self._upsert(Taxonomy, taxonomy_id, values, "taxonomy")
        self.done["taxonomy"].add(taxonomy_id)

    def _term_taxonomy(self, rec: _Record) -> tuple[str | None, set[str]]:
        """The term's taxonomy id (creating a taxonomy named by the ``taxonomy`` text if needed), and
        the names it is known by (for the mapping file)."""
        taxonomy_id = rec.ref("taxonomy_id")
        label = rec.text("taxonomy")
        if taxonomy_id and (taxonomy_id in self.done["taxonomy"] or db.session.get(Taxonomy, taxonomy_id)):
            taxonomy = db.session.get(Taxonomy, taxonomy_id)
            return taxonomy_id, {n.lower() for n in (taxonomy.name, taxonomy.uri, label, taxonomy_id) if n}
        if label:
            found = db.session.scalar(select(Taxonomy).where((Taxonomy.name == label) | (Taxonomy.uri == label)))
            if found is None:
                found = self._upsert(Taxonomy, derived_id("taxonomy", label), {"name": label[:200]}, "taxonomy")
            return found.id, {label.lower(), found.id}
        return None, set()

    def _apply_taxonomy_term(self, rec: _Record) -> None:
        term_id = rec.id()
        if term_id in EXTENSION_BY_TERM_ID or rec.ref("taxonomy_id") == EXTENSION_TAXONOMY_ID:
            return  # our extension fields: understood, not stored
        name = rec.text("name", required=True)
        code = rec.text("code")
        existing = db.session.get(TaxonomyTerm, term_id)
        taxonomy_id, taxonomy_names = self._term_taxonomy(rec)
        ours = taxonomy_id == LIANJIE_TAXONOMY_ID
        if existing is None:
            target = None
            if ours and code:
                target = db.session.scalar(select(TaxonomyTerm).where(TaxonomyTerm.code == code))
            elif not ours:
                target = self.mapper.match(code, name, taxonomy_names)
            if target is not None:
                self.term_ids[term_id] = target.id
                self.report.terms_mapped += 1
                return
        parent_id = None
        raw_parent = rec.ref("parent_id")
        if raw_parent:
            parent_id = self.term_ids.get(raw_parent)
            if parent_id is None and db.session.get(TaxonomyTerm, raw_parent) is not None:
                parent_id = raw_parent
            if parent_id is None:
                self.report.warnings.append(
                    f"{rec.row.label()}: parent term {raw_parent} is not known; kept as a top-level term"
                )
        stored_code = code if ours and code and SAFE_CODE.match(code) else self._own_code(code, term_id)
        values = {
            "code": stored_code,
            "name": name,
            "description": rec.text("description"),
            "parent_id": parent_id if parent_id != term_id else None,
            "taxonomy_id": taxonomy_id,
        }
        self._upsert(TaxonomyTerm, term_id, values, "taxonomy_term")
        self.term_ids[term_id] = term_id
        self.done["taxonomy_term"].add(term_id)
        if not ours:
            self.report.terms_kept += 1

    def _own_code(self, code: str | None, term_id: str) -> str:
        """A code for an external term: its own when usable and free, else made unique with its id."""
        candidates = [code] if code and SAFE_CODE.match(code) else []
        if code:
            slug = re.sub(r"[^A-Za-z0-9._-]+", "-", code).strip("-.")[:80]
            if slug:
                candidates.append(f"{slug}-{term_id[:8]}")
        candidates.append(f"t-{term_id[:8]}")
        for candidate in candidates:
            holder = db.session.scalar(select(TaxonomyTerm.id).where(TaxonomyTerm.code == candidate))
            if holder is None or holder == term_id:
                return candidate
        return f"t-{term_id}"

    # -- organization, location --

    def _apply_organization(self, rec: _Record) -> None:
        org_id = rec.id()
        values = {
            "name": rec.text("name", required=True),
            "alternate_name": rec.text("alternate_name"),
            "description": rec.text("description") or "",
            "email": self._formatted(rec, "email", "email"),
            "website": self._formatted(rec, "website", "uri"),
        }
        self._upsert(Organization, org_id, values, "organization")
        self.done["organization"].add(org_id)
        self.owner_rows.append((rec.row, org_id))

    def _apply_location(self, rec: _Record) -> None:
        location_id = rec.id()
        known = db.session.get(Location, location_id)
        org_id = rec.ref("organization_id")
        if org_id is None:
            # HSDS allows a location of no organization (then only admins edit it). One we hold keeps its
            # organization: an import never takes a location away from its organization.
            org_id = known.organization_id if known is not None else None
        elif not self._exists(Organization, "organization", org_id):
            fallback = self.location_org.get(location_id)
            if not (fallback and self._exists(Organization, "organization", fallback)):
                raise RecordError(f"organization {org_id} {MISSING}")
            self.report.warnings.append(
                f"{rec.row.label()}: organization {org_id} is not known; the location is kept under "
                f"organization {fallback}, which offers a service there"
            )
            org_id = fallback
        name = rec.text("name") or rec.text("alternate_name")
        if not name:
            raise RecordError("'name' is required")
        latitude, longitude = rec.number("latitude"), rec.number("longitude")
        if (latitude is None) != (longitude is None):
            raise RecordError("give both latitude and longitude, or neither")
        if latitude is not None and not (-90 <= latitude <= 90 and -180 <= longitude <= 180):
            self.report.warnings.append(
                f"{rec.row.label()}: coordinates {latitude},{longitude} are not a place on Earth; left out"
            )
            latitude = longitude = None
        values = {
            "organization_id": org_id,
            "name": name,
            "location_type": rec.choice("location_type", ("physical", "postal", "virtual"), "physical"),
            "description": rec.text("description"),
            "transportation": rec.text("transportation"),
            "latitude": float(latitude) if latitude is not None else None,
            "longitude": float(longitude) if longitude is not None else None,
        }
        if known is None:
            values["district"] = guangzhou_district([name, values["description"]]) or ""
        self._upsert(Location, location_id, values, "location")
        self.done["location"].add(location_id)
        self.owner_rows.append((rec.row, location_id))

    def _apply_address(self, rec: _Record) -> None:
        location_id = self._require(Location, "location", rec.ref("location_id"), "location_id")
        if self.chosen_address.get(location_id, ("", False))[0] != rec.row.where:
            raise Skip("the location already has an address: we keep one per location, the first physical one")
        rec.choice("address_type", ("physical", "postal", "virtual"))
        street = ", ".join(filter(None, [rec.text("address_1"), rec.text("address_2")])) or None
        city, region = rec.text("city"), rec.text("region")
        country = rec.text("country")
        if country and len(country) != 2:
            raise RecordError(f"'country' must be a two-letter ISO 3166 code, not '{_preview(country)}'")
        location = db.session.get(Location, location_id)
        district = guangzhou_district([region, city, street]) or region or city or location.district or ""
        values = {
            "address_1": street,
            "district": district[:20],
            "postal_code": rec.text("postal_code"),
        }
        for name, value in (("city", city), ("state_province", rec.text("state_province")), ("country", country)):
            if value:
                values[name] = value.upper() if name == "country" else value
        self._upsert(Location, location_id, values, "location")

    # -- service --

    def _apply_service(self, rec: _Record) -> None:
        service_id = rec.id()
        org_id = self._require(Organization, "organization", rec.ref("organization_id"), "organization_id")
        minimum, maximum = rec.whole("minimum_age", 0, 150), rec.whole("maximum_age", 0, 150)
        if minimum is not None and maximum is not None and minimum > maximum:
            raise RecordError(f"minimum_age {minimum} is greater than maximum_age {maximum}")
        status = rec.text("status", required=True).lower()
        if status not in SERVICE_STATUSES:
            raise RecordError(f"'status' must be one of {', '.join(SERVICE_STATUSES)}, not '{_preview(status)}'")
        values = {
            "organization_id": org_id,
            "name": rec.text("name", required=True),
            "alternate_name": rec.text("alternate_name"),
            "description": rec.text("description") or "",
            "url": self._formatted(rec, "url", "uri"),
            "email": self._formatted(rec, "email", "email"),
            "status": status,
            "application_process": rec.text("application_process"),
            "fees_description": rec.text("fees_description") or rec.text("fees"),
            "eligibility_description": rec.text("eligibility_description"),
            "minimum_age": minimum,
            "maximum_age": maximum,
            "assured_date": rec.date("assured_date"),
            "assurer_email": self._formatted(rec, "assurer_email", "email"),
            "alert": rec.text("alert"),
        }
        for name in OVERRIDE_FIELDS:
            if (service_id, name) in self.overrides:
                values[name] = self.overrides[(service_id, name)]
        modified = rec.datetime("last_modified")
        if modified is not None:
            values["last_modified"] = modified
            self.last_modified[service_id] = modified
        self._upsert(Service, service_id, values, "service")
        self.done["service"].add(service_id)
        self.owner_rows.append((rec.row, service_id))

    def _apply_service_at_location(self, rec: _Record) -> None:
        raw_id = rec.id()
        service_id = self._require(Service, "service", rec.ref("service_id"), "service_id")
        location_id = rec.ref("location_id")
        if location_id is None:
            known = db.session.get(ServiceAtLocation, raw_id)
            if known is None or known.service_id != service_id:
                raise Skip("a service_at_location without a location: nothing to link")
            location_id = known.location_id  # the one we hold under this id
        self._require(Location, "location", location_id, "location_id")
        pair = db.session.scalar(
            select(ServiceAtLocation).where(
                ServiceAtLocation.service_id == service_id, ServiceAtLocation.location_id == location_id
            )
        )
        sal_id = (
            pair.id
            if pair is not None
            else self._child_id("service_at_location", (ServiceAtLocation,), raw_id, ("service_id", service_id))
        )
        values = {"service_id": service_id, "location_id": location_id, "description": rec.text("description")}
        self._upsert(ServiceAtLocation, sal_id, values, "service_at_location")
        self.sal_service[raw_id] = service_id
        self._see("service", service_id, "service_at_locations", sal_id)

    # -- the service's (and others') children --

    def _apply_phone(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if service_id:
            owner = ("service_id", service_id)
        elif rec.ref("location_id"):
            owner = ("location_id", self._require(Location, "location", rec.ref("location_id"), "location_id"))
        elif rec.ref("organization_id"):
            org_id = self._require(Organization, "organization", rec.ref("organization_id"), "organization_id")
            owner = ("organization_id", org_id)
        elif rec.ref("contact_id"):
            raise Skip("a phone of a contact (contacts are not modelled)")
        else:
            raise RecordError("the phone belongs to no organization, service or location")
        extension = rec.raw("extension")
        if extension is not None:
            extension = (
                str(int(extension)) if is_number(extension) and float(extension).is_integer() else str(extension)
            )
        values = {
            "organization_id": None,
            "service_id": None,
            "location_id": None,
            owner[0]: owner[1],
            "number": rec.text("number", required=True),
            "extension": extension,
            "type": rec.text("type"),
            "description": rec.text("description"),
        }
        phone_id = self._child_id("phone", (Phone,), rec.id(), owner)
        self._upsert(Phone, phone_id, values, "phone")
        self._see(_OWNER_TABLE[owner[0]], owner[1], "phones", phone_id)

    def _apply_schedule(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            if rec.ref("location_id"):
                raise Skip("opening hours of a location (we keep hours per service)")
            raise RecordError("the schedule belongs to no service")
        freq = (rec.text("freq") or "WEEKLY").upper()
        if freq not in FREQUENCIES:
            raise Skip(f"{freq} schedules are not modelled (weekly and monthly hours, and date ranges)")
        interval = rec.whole("interval", 1, MAX_INTERVAL) or 1
        wkst = (rec.text("wkst") or "MO").upper()
        if wkst not in WEEKDAYS:
            raise RecordError(f"'wkst': {_preview(wkst)} is not a weekday ({', '.join(WEEKDAYS)})")
        monthly = freq == "MONTHLY"
        weekly = not monthly and interval == 1  # plain weekly hours, as the hours editor keeps them
        try:
            byday = parse_byday(rec.text("byday"), monthly)
        except RecurrenceError as exc:
            raise RecordError(f"'byday': {exc}") from None
        try:
            bymonthday = parse_bymonthday(rec.text("bymonthday")) if monthly else ()
        except RecurrenceError as exc:
            raise RecordError(f"'bymonthday': {exc}") from None
        days = [code for _, code in byday]
        tz = rec.number("timezone")
        opens, shift = rec.local_time("opens_at", tz)
        closes, _ = rec.local_time("closes_at", tz)
        valid_from, valid_to = rec.date("valid_from"), rec.date("valid_to")
        dtstart = rec.date("dtstart")
        owner = ("service_id", service_id)
        schedule_id = self._child_id("schedule", (Schedule, ScheduleException), rec.id(), owner)
        description = rec.text("description")
        if weekly and valid_from and valid_to and (not days or set(days) == set(WEEKDAYS)):
            if valid_to < valid_from:
                raise RecordError(f"valid_to {valid_to} is before valid_from {valid_from}")
            if (opens is None) != (closes is None):
                raise RecordError("give both opens_at and closes_at, or neither (closed on those dates)")
            values = {
                "service_id": service_id,
                "starts_on": valid_from,
                "ends_on": valid_to,
                "closed": opens is None,
                "opens_at": opens,
                "closes_at": closes,
                "description": description,
            }
            self._remove(Schedule, schedule_id)
            self._upsert(ScheduleException, schedule_id, values, "schedule_exception")
            self._see("service", service_id, "schedules", schedule_id)
            return
        if opens is None or closes is None or not (byday or bymonthday or (monthly and dtstart)):
            raise Skip("a schedule without weekdays (or days of the month) and opening hours is not modelled")
        if interval > 1 and dtstart is None:
            unit = "months" if monthly else "weeks"
            raise RecordError(f"'dtstart' is required with interval {interval}: it says which {unit} count")
        if shift and not weekly:
            raise Skip(
                "the hours cross midnight when converted to Guangzhou time (UTC+8), and a "
                f"{'monthly' if monthly else 'every-' + str(interval) + '-weeks'} rule cannot be moved by a day"
            )
        self._warn_not_kept(rec, weekly, dtstart)
        if weekly:
            if shift:
                days = [WEEKDAYS[(WEEKDAYS.index(d) + shift) % 7] for d in days]
            byday_text = ",".join(d for d in WEEKDAYS if d in days)
        else:
            byday_text = format_byday(byday)
        values = {
            "service_id": service_id,
            "freq": freq,
            "interval": interval,
            "byday": byday_text,
            "bymonthday": ",".join(map(str, bymonthday)) or None,
            "dtstart": None if weekly else dtstart,
            "wkst": wkst,
            "opens_at": opens,
            "closes_at": closes,
            "description": description,
        }
        self._remove(ScheduleException, schedule_id)
        self._upsert(Schedule, schedule_id, values, "schedule")
        self._see("service", service_id, "schedules", schedule_id)

    def _warn_not_kept(self, rec: _Record, weekly: bool, dtstart: date | None) -> None:
        """Name the parts of a recurring schedule we do not keep (the hours are kept without them)."""
        names = [name for name in ("until", "count", "byweekno", "byyearday") if rec.raw(name) is not None]
        if weekly and rec.raw("bymonthday") is not None:
            names.append("bymonthday (monthly only)")
        if rec.raw("valid_from") is not None or rec.raw("valid_to") is not None:
            names.append("valid_from/valid_to")
        if weekly and dtstart is not None and dtstart > local_today():
            names.append(f"dtstart {dtstart} (weekly hours apply from now)")
        if names:
            self.report.warnings.append(
                f"{rec.row.label()}: not kept: {', '.join(names)}; the hours are taken as recurring without them"
            )

    def _apply_language(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            raise Skip("a language of a location or phone (we keep languages per service)")
        name = rec.text("name")
        code = rec.text("code") or LANGUAGE_CODES_BY_NAME.get((name or "").strip().lower())
        if not code:
            raise RecordError("'code' is required (ISO 639), or a language name we know")
        values = {"service_id": service_id, "code": code, "name": name or SERVICE_LANGUAGE_NAMES.get(code)}
        language_id = self._child_id("language", (Language,), rec.id(), ("service_id", service_id))
        self._upsert(Language, language_id, values, "language")
        self._see("service", service_id, "languages", language_id)

    def _apply_required_document(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            raise RecordError("'service_id' is required")
        document = rec.text("document", required=True)
        values = {"service_id": service_id, "document": document, "uri": self._formatted(rec, "uri", "uri")}
        doc_id = self._child_id("required_document", (RequiredDocument,), rec.id(), ("service_id", service_id))
        self._upsert(RequiredDocument, doc_id, values, "required_document")
        self._see("service", service_id, "required_documents", doc_id)

    def _apply_service_area(self, rec: _Record) -> None:
        service_id = self._service_of(rec)
        if not service_id:
            raise RecordError("'service_id' is required")
        try:
            area = area_from_hsds(rec.data, default_gazetteer(current_app))
        except AreaError as exc:
            raise Skip(f"not kept: a service area we cannot place in Guangzhou ({exc})") from None
        values = {
            "service_id": service_id,
            "district": area.district,
            "street": area.street,
            "description": rec.text("description"),
            "position": len(self.seen.get(("service", service_id, "service_areas"), ())),  # in the order read
        }
        area_id = self._child_id("service_area", (ServiceArea,), rec.id(), ("service_id", service_id))
        self._upsert(ServiceArea, area_id, values, "service_area")
        self._see("service", service_id, "service_areas", area_id)

    def _apply_attribute(self, rec: _Record) -> None:
        term_id = rec.ref("taxonomy_term_id")
        if term_id is None:
            raise RecordError("'taxonomy_term_id' is required (or a nested taxonomy_term)")
        link_id = rec.ref("link_id")
        if link_id is None:
            raise RecordError("'link_id' is required")
        entity = (rec.text("link_entity") or "").lower()
        ext = EXTENSION_BY_TERM_ID.get(term_id)
        if ext is not None:
            self._apply_extension(rec, ext, link_id)
            return
        if term_id in self.failed["taxonomy_term"]:
            raise ParentSkipped("taxonomy_term")
        if not self._exists(Service, "service", link_id):
            if entity in ("", "service"):
                raise RecordError(f"service {link_id} {MISSING}")
            raise Skip(f"attributes of {entity or 'other'} records are not modelled (only a service's categories)")
        our_term_id = self.term_ids.get(term_id) or (term_id if db.session.get(TaxonomyTerm, term_id) else None)
        if our_term_id is None:
            raise RecordError(f"taxonomy term {term_id} {MISSING}")
        service = db.session.get(Service, link_id)
        term = db.session.get(TaxonomyTerm, our_term_id)
        if term not in service.taxonomy_terms:
            service.taxonomy_terms.append(term)
            self.report.count("service", False, link_id)
        else:
            self.report.count("service", None, link_id)
        self._see("service", link_id, "attributes", our_term_id)

    def _apply_extension(self, rec: _Record, ext, link_id: str) -> None:
        model = _EXTENSION_MODELS[ext.entity]
        self._require(model, ext.entity, link_id, "link_id")
        try:
            value = ext.decode(rec.data.get("value"))
        except ValueError as exc:
            raise RecordError(f"{ext.code}: {exc}") from None
        if ext.field == "eligibility_rules":
            problems = rule_problems(value)
            if problems:
                raise RecordError(f"{ext.code}: " + "; ".join(problems))
        if ext.field in ("minimum_age", "maximum_age") and value is not None and not 0 <= value <= 150:
            raise RecordError(f"{ext.code}: {value} is not an age from 0 to 150")
        _column_limits(model, {ext.field: value})
        obj = db.session.get(model, link_id)
        if getattr(obj, ext.field) != value:
            setattr(obj, ext.field, value)
            self.report.count(ext.entity, False, link_id)
        else:
            self.report.count(ext.entity, None, link_id)


def _parents_first(rows: list[Row]) -> list[Row]:
    by_id = {canonical_id(r.data.get("id")): r for r in rows}
    ordered: list[Row] = []
    state: dict[int, int] = {}

    def visit(row: Row) -> None:
        if state.get(id(row)) is not None:
            return  # done, or in a cycle: the cycle is broken here
        state[id(row)] = 1
        parent = by_id.get(_Record(row).ref("parent_id"))
        if parent is not None and parent is not row:
            visit(parent)
        ordered.append(row)
        state[id(row)] = 2

    for row in rows:
        visit(row)
    return ordered


def import_hsds(
    path: Path,
    *,
    forced_type: str | None = None,
    term_map: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[ImportReport, Source]:
    """Import ``path`` in the current transaction (the caller commits, or rolls back for a dry run)."""
    source = read_source(path, forced_type)
    report = Importer(load_term_map(term_map)).run(source, progress)
    return report, source


__all__ = [
    "OBJECT_TYPES",
    "ImportReport",
    "Importer",
    "RecordError",
    "Source",
    "classify",
    "import_hsds",
    "read_source",
]
