"""flask import-hsds on hostile input: deep nesting, other encodings, oversized values and unsafe links give
clear per-record (or per-file) errors, never a traceback; text fields have the forms' caps."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from directory.api.hsds_import import import_hsds
from directory.catalog.limits import TEXT_LIMITS
from directory.catalog.models import Location, Organization, Service
from directory.extensions import db
from tests.hsds_reference import import_hsds_json, service_record

ORG = "0b9a5f6e-0000-4000-8000-0000000000f1"
SERVICE = "0b9a5f6e-0000-4000-8000-0000000000f2"


def _service(**fields) -> dict:
    return service_record(SERVICE, ORG, **fields)


def test_json_nested_beyond_the_parser_is_one_clear_error(app, tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000, encoding="utf-8")
    report, _ = import_hsds(path)
    assert len(report.errors) == 1
    assert report.errors[0].startswith("deep.json:") and "nested too deeply" in report.errors[0]


def test_hsds_objects_nested_too_deeply_are_a_record_error(app, tmp_path):
    """service → organization → services → … 300 times: parsed by json, refused by the importer."""
    node: dict = {"id": "0b9a5f6e-0000-4000-8000-000000000100", "name": "s", "status": "active"}
    for level in range(300):
        org = {"id": f"0b9a5f6e-0000-4000-8000-{level:012d}", "name": "o", "description": "d", "services": [node]}
        node = {"id": f"0b9a5f6e-0000-4000-9000-{level:012d}", "name": "s", "status": "active", "organization": org}
    report = import_hsds_json(tmp_path, node)
    assert any("nested too deeply" in e for e in report.errors), report.errors[:3]


def _package(tmp_path: Path, services: list[dict], encoding: str = "utf-8") -> Path:
    folder = tmp_path / "package"
    folder.mkdir()
    (folder / "datapackage.json").write_text(
        json.dumps(
            {
                "name": "t",
                "resources": [
                    {"name": "organizations", "path": "organizations.csv"},
                    {"name": "services", "path": "services.csv"},
                ],
            }
        ),
        encoding="utf-8",
    )
    with (folder / "organizations.csv").open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "name", "description"])
        writer.writeheader()
        writer.writerow({"id": ORG, "name": "Example", "description": "x"})
    with (folder / "services.csv").open("w", encoding=encoding, newline="") as handle:
        writer = csv.DictWriter(handle, ["id", "organization_id", "name", "status", "description"])
        writer.writeheader()
        for row in services:
            writer.writerow({"organization_id": ORG, "status": "active", **row})
    return folder


def test_a_csv_file_that_is_not_utf8_is_reported_and_the_others_are_imported(app, tmp_path):
    folder = _package(tmp_path, [{"id": SERVICE, "name": "法律援助", "description": "免费"}], encoding="gbk")
    report, _ = import_hsds(folder)
    db.session.commit()
    assert [e for e in report.errors if "services.csv" in e] == [
        "services.csv:2: not UTF-8 text; save the file as UTF-8 (the rest of this file was skipped)"
    ]
    assert db.session.get(Organization, ORG) is not None  # the other file is imported


def test_an_oversized_csv_field_is_a_record_error(app, tmp_path):
    good = "0b9a5f6e-0000-4000-8000-0000000000f3"
    rows = [
        {"id": SERVICE, "name": "Huge", "description": "字" * 300_000},  # beyond csv's own field limit
        {"id": good, "name": "Fine", "description": "ok"},
    ]
    report, _ = import_hsds(_package(tmp_path, rows))
    db.session.commit()
    assert any(e.startswith(f"services.csv:2 [{SERVICE}]: 'description' has 300000 characters") for e in report.errors)
    assert db.session.get(Service, SERVICE) is None
    assert db.session.get(Service, good) is not None


@pytest.mark.parametrize(
    ("table", "field", "record"),
    [
        ("service", "description", lambda v: _service(description=v)),
        ("service", "application_process", lambda v: _service(application_process=v)),
        ("service", "fees_description", lambda v: _service(fees_description=v)),
        ("service", "eligibility_description", lambda v: _service(eligibility_description=v)),
        ("service", "alert", lambda v: _service(alert=v)),
        ("organization", "description", lambda v: {"id": ORG, "name": "Example", "description": v}),
        (
            "location",
            "transportation",
            lambda v: {"id": ORG, "name": "L", "transportation": v, "latitude": 23.1, "longitude": 113.3},
        ),
        ("required_document", "document", lambda v: _service(required_documents=[{"id": ORG, "document": v}])),
    ],
)
def test_every_text_field_has_the_forms_cap(app, tmp_path, table, field, record):
    cap = TEXT_LIMITS[table][field]
    report = import_hsds_json(tmp_path, record("长" * cap))
    assert report.errors == [], report.errors
    report = import_hsds_json(tmp_path, record("长" * (cap + 1)))
    assert len(report.errors) == 1 and f"'{field}' has {cap + 1} characters; at most {cap} fit" in report.errors[0]


def test_a_100_mb_description_is_refused(app, tmp_path):
    report = import_hsds_json(tmp_path, _service(description="x" * 100_000_000))
    assert len(report.errors) == 1 and "'description' has 100000000 characters" in report.errors[0]
    assert db.session.get(Service, SERVICE) is None


def test_the_forms_use_the_same_caps(app):
    from directory.catalog.forms import LocationForm, ServiceForm

    with app.test_request_context():
        service, location = ServiceForm(meta={"csrf": False}), LocationForm(meta={"csrf": False})
    for form, table in ((service, "service"), (location, "location")):
        for name, cap in TEXT_LIMITS[table].items():
            if hasattr(form, name):
                lengths = [v.max for v in getattr(form, name).validators if hasattr(v, "max") and v.max != -1]
                assert lengths == [cap], (table, name)


def test_location_import_still_works(app, tmp_path):
    report = import_hsds_json(tmp_path, {"id": ORG, "name": "L", "latitude": 23.1, "longitude": 113.3})
    assert report.errors == [] and db.session.get(Location, ORG) is not None
