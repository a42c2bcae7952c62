"""flask import-hsds: every HSDS 3.0 example imports, a second import changes nothing, invalid records are
reported by row and skipped without leaving anything behind, taxonomy terms map onto ours."""

from __future__ import annotations

import csv
import json
import shutil
from datetime import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from directory.api import hsds_import
from directory.api.hsds_import import RecordError, classify, import_hsds
from directory.catalog.models import (
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.extensions import db
from tests.hsds_reference import EXAMPLES, catalog_snapshot, import_hsds_json

MODELS = {
    "service": Service,
    "organization": Organization,
    "location": Location,
    "service_at_location": ServiceAtLocation,
    "taxonomy_term": TaxonomyTerm,
    "taxonomy": Taxonomy,
}
TABLE_MODELS = {
    "services.csv": Service,
    "organizations.csv": Organization,
    "locations.csv": Location,
    "service_at_location.csv": ServiceAtLocation,
    "taxonomy_terms.csv": TaxonomyTerm,
    "taxonomies.csv": Taxonomy,
}
# Every example; all import without an error (base.json holds no records, only a warning).
EXAMPLE_NAMES = sorted(p.name for p in EXAMPLES.glob("*.json")) + ["csv"]
SERVICE_ID = "ac148810-d857-441c-9679-408f346de14b"
LOCATION_ID = "3a19ff88-4620-4d17-9830-ac1d859eb5d5"
EXAMPLE_ORG = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"


def _count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _top_level_records(name: str) -> list[tuple[type, str]]:
    """(model, id) of the records an example file holds at its top level."""
    path = EXAMPLES / name
    if name == "csv" or name == "tabular.json":
        tables = (
            json.loads(path.read_text(encoding="utf-8"))
            if name == "tabular.json"
            else {f: list(csv.DictReader((path / f).open(encoding="utf-8"))) for f in TABLE_MODELS}
        )
        return [(model, row["id"]) for f, model in TABLE_MODELS.items() for row in tables.get(f, [])]
    data = json.loads(path.read_text(encoding="utf-8"))
    items = data["contents"] if isinstance(data, dict) and "contents" in data else [data]
    return [(MODELS[classify(item)], item["id"]) for item in items if "id" in item]


def test_every_example_is_covered():
    assert len(EXAMPLE_NAMES) >= 14
    assert {"csv", "service_full.json", "organization_full.json", "tabular.json"} <= set(EXAMPLE_NAMES)


@pytest.mark.parametrize("name", EXAMPLE_NAMES)
def test_every_example_imports_and_again_changes_nothing(app, name):
    report, _ = import_hsds(EXAMPLES / name)
    db.session.commit()
    assert report.errors == []
    for model, obj_id in _top_level_records(name):
        assert db.session.get(model, obj_id) is not None, (model.__name__, obj_id)
    if name == "base.json":
        assert report.records == 0 and report.warnings
    before = catalog_snapshot()
    again, _ = import_hsds(EXAMPLES / name)
    db.session.commit()
    assert dict(again.created) == {} and dict(again.updated) == {}, (again.created, again.updated)
    assert catalog_snapshot() == before


def test_all_examples_together_are_one_catalog(app):
    """The examples describe one service: importing them all gives it once, never duplicated."""
    for name in EXAMPLE_NAMES:
        import_hsds(EXAMPLES / name)
        db.session.commit()
    assert _count(Service) == 1 and _count(Organization) == 1 and _count(Location) == 1
    assert _count(ServiceAtLocation) == 1
    service = db.session.get(Service, SERVICE_ID)
    assert [p.number for p in service.phones] == ['"+44 1234 234567"']
    assert len(service.schedules) == 1 and len(service.languages) == 1 and len(service.required_documents) == 1


def test_service_full_mapping(app):
    report, _ = import_hsds(EXAMPLES / "service_full.json")
    db.session.commit()
    service = db.session.get(Service, SERVICE_ID)
    assert service.name == "Community Counselling"
    assert service.alternate_name == "MyCity Counselling Services"
    assert service.status == "active" and service.url == "http://example.com/counselling"
    assert service.minimum_age == 12 and service.maximum_age == 100
    assert service.assured_date.isoformat() == "2005-01-01" and service.assurer_email == "email@example.com"
    assert service.last_modified.isoformat() == "2023-03-15T10:30:45.123000+00:00"
    assert service.fees_description.startswith("Non-NHS patients")
    assert service.eligibility_rules == [] and service.accepting_referrals and not service.is_demo
    assert service.organization.name == "Example Organization Inc."
    assert service.organization.website == "http://example.com"

    [phone] = service.phones
    assert (phone.number, phone.extension, phone.type) == ('"+44 1234 234567"', "100", "voice")
    assert phone.id == "1554f2e2-a373-45db-a3fa-9fc48a61c15e" or phone.service_id == SERVICE_ID
    # The example reuses that phone id for the organization and the location: each gets its own row.
    assert len(service.organization.phones) == 1 and len(service.locations[0].phones) == 1

    [schedule] = service.schedules  # TH,FR 10:00-18:00 at UTC+3 (timezone 3) is 15:00-23:00 here
    assert (schedule.byday, schedule.opens_at, schedule.closes_at) == ("TH,FR", time(15), time(23))
    [language] = service.languages
    assert (language.code, language.name) == ("ur", "Urdu")
    [document] = service.required_documents  # whole: 279 characters
    example = json.loads((EXAMPLES / "service_full.json").read_text(encoding="utf-8"))
    assert document.document == example["required_documents"][0]["document"] and len(document.document) == 279
    assert not any("document" in w for w in report.warnings)
    # The example's weekly schedule also names parts of RFC 5545 we do not keep: said so, once.
    assert (schedule.freq, schedule.interval, schedule.wkst, schedule.dtstart) == ("WEEKLY", 1, "TU", None)
    assert any(
        "/schedules/0 [48102e86" in w and "not kept: until, count, byweekno, byyearday, bymonthday" in w
        for w in report.warnings
    ), report.warnings

    [location] = service.locations
    assert location.name == "MyCity Civic Center" and location.location_type == "physical"
    assert location.latitude is None and location.longitude is None  # 100,101 is no place on Earth
    assert location.address_1 == "1-30 Main Street, MyVillage"
    assert (location.city, location.district, location.postal_code, location.country) == (
        "MyCity",
        "MyRegion",
        "ABC 1234",
        "US",
    )
    assert location.organization_id == service.organization_id

    [term] = service.taxonomy_terms  # not one of ours: kept in its own taxonomy
    assert (term.id, term.code, term.name) == ("3f7b145d-84af-42d7-8fae-eaca714b02b2", "code", "name")
    assert term.taxonomy_id == "5c4d79d7-cc55-470e-9f1f-8cad074e4892"
    assert report.terms_kept == 1 and report.terms_mapped == 0
    assert report.not_modelled["service.funding"] == 1
    assert report.not_modelled["service_area"] == 1  # "all residents of the MyCity area": not in Guangzhou
    assert not service.service_areas


def test_csv_location_of_an_unknown_organization_goes_to_its_service_s(app):
    report, _ = import_hsds(EXAMPLES / "csv")
    db.session.commit()
    location = db.session.get(Location, "3a19ff88-4620-4d17-9830-ac1d859eb5d5")
    assert location.organization_id == "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"
    assert any("locations.csv:2 [3a19ff88" in w and "985e4a42" in w for w in report.warnings)


def test_imported_services_are_searchable_at_once(app, client):
    result = app.test_cli_runner().invoke(args=["import-hsds", str(EXAMPLES / "organization_full.json")])
    assert result.exit_code == 0, result.output
    hits = client.get("/api/v1/search", query_string={"q": "counselling"}).get_json()
    assert [h["service_id"] for h in hits["contents"]] == [SERVICE_ID]


def _copy_csv_example(tmp_path: Path) -> Path:
    package = tmp_path / "package"
    shutil.copytree(EXAMPLES / "csv", package)
    return package


def _append(path: Path, rows: list[dict]) -> None:
    with path.open(encoding="utf-8", newline="") as handle:
        fields = next(csv.reader(handle))
    with path.open("a", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=fields, lineterminator="\n")
        for row in rows:
            writer.writerow(row)


GOOD = "0b9a5f6e-0000-4000-8000-000000000001"
BAD_STATUS = "0b9a5f6e-0000-4000-8000-000000000002"
NO_NAME = "0b9a5f6e-0000-4000-8000-000000000003"
AGES = "0b9a5f6e-0000-4000-8000-000000000004"
NO_ORG = "0b9a5f6e-0000-4000-8000-000000000005"
ORG = "d9d5e0f5-d3ce-4f73-9a2f-4dd0ecc6c610"


def _broken_package(tmp_path: Path) -> Path:
    package = _copy_csv_example(tmp_path)
    _append(
        package / "services.csv",
        [
            {"id": GOOD, "organization_id": ORG, "name": "Family Support", "status": "active"},  # line 3
            {"id": BAD_STATUS, "organization_id": ORG, "name": "Open Door", "status": "open"},  # line 4
            {"id": NO_NAME, "organization_id": ORG, "status": "active"},  # line 5
            {
                "id": AGES,
                "organization_id": ORG,
                "name": "Teens",
                "status": "active",
                "minimum_age": "30",
                "maximum_age": "10",
            },
            {"id": NO_ORG, "organization_id": "0b9a5f6e-0000-4000-8000-0000000000ff", "name": "X", "status": "active"},
        ],
    )
    _append(
        package / "schedules.csv",
        [
            {
                "id": "5c000000-0000-4000-8000-000000000001",
                "service_id": GOOD,
                "byday": "MO,XX",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
            {
                "id": "5c000000-0000-4000-8000-000000000002",
                "service_id": GOOD,
                "byday": "MO,TU",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
            {
                "id": "5c000000-0000-4000-8000-000000000003",
                "service_id": BAD_STATUS,
                "byday": "MO",
                "opens_at": "09:00",
                "closes_at": "17:00",
            },
            {
                "id": "5c000000-0000-4000-8000-000000000004",
                "service_id": GOOD,
                "byday": "WE",
                "opens_at": "25:00",
                "closes_at": "17:00",
            },
        ],
    )
    _append(package / "phones.csv", [{"id": "9f000000-0000-4000-8000-000000000001", "service_id": GOOD}])
    return package


def test_broken_csv_rows_are_reported_by_line_and_the_rest_is_imported(app, tmp_path):
    report, _ = import_hsds(_broken_package(tmp_path))
    db.session.commit()
    assert sorted(report.errors) == sorted(
        [
            f"services.csv:4 [{BAD_STATUS}]: 'status' must be one of active, inactive, defunct, temporarily closed, "
            "not 'open'",
            f"services.csv:5 [{NO_NAME}]: 'name' is required",
            f"services.csv:6 [{AGES}]: minimum_age 30 is greater than maximum_age 10",
            f"services.csv:7 [{NO_ORG}]: organization 0b9a5f6e-0000-4000-8000-0000000000ff is neither in this import "
            "nor in the catalog",
            "schedules.csv:3 [5c000000-0000-4000-8000-000000000001]: 'byday': XX is not a weekday "
            "(MO, TU, WE, TH, FR, SA, SU)",
            "schedules.csv:6 [5c000000-0000-4000-8000-000000000004]: 'opens_at': '25:00' is not a time of day",
            "phones.csv:3 [9f000000-0000-4000-8000-000000000001]: 'number' is required",
        ]
    )
    assert report.skipped_with_parent == 1  # the schedule of the service with a bad status
    good = db.session.get(Service, GOOD)
    assert good is not None and [s.byday for s in good.schedules] == ["MO,TU"]
    for bad in (BAD_STATUS, NO_NAME, AGES, NO_ORG):
        assert db.session.get(Service, bad) is None
    assert db.session.scalar(select(func.count()).select_from(Schedule).where(Schedule.service_id == BAD_STATUS)) == 0
    assert db.session.get(Service, SERVICE_ID) is not None  # the example's own rows are all in


def test_import_command_reports_rows_and_exits_1(app, tmp_path):
    result = app.test_cli_runner().invoke(args=["import-hsds", str(_broken_package(tmp_path))])
    assert result.exit_code == 1
    assert f"error: services.csv:4 [{BAD_STATUS}]: 'status' must be one of" in result.stderr
    assert "7 invalid record(s) skipped; the rest was imported." in result.stderr
    assert "Not modelled, skipped:" in result.stdout
    assert db.session.get(Service, GOOD) is not None


def test_broken_json_records_are_reported_by_pointer(app, tmp_path):
    good = json.loads((EXAMPLES / "service_full.json").read_text(encoding="utf-8"))
    bad_schedule = {
        "id": "0b9a5f6e-0000-4000-8000-000000000011",
        "name": "Bad hours",
        "status": "active",
        "organization_id": ORG,
        "schedules": [
            {"id": "5c000000-0000-4000-8000-000000000011", "byday": "MO", "opens_at": "9am", "closes_at": "5pm"}
        ],
    }
    bad_org = {
        "id": "0b9a5f6e-0000-4000-8000-000000000012",
        "name": "Orphan",
        "status": "active",
        "organization": {"id": "0b9a5f6e-0000-4000-8000-0000000000aa", "description": "no name"},
        "phones": [{"id": "9f000000-0000-4000-8000-000000000012", "number": "020-0000-0001"}],
    }
    ages = {
        "id": "0b9a5f6e-0000-4000-8000-000000000013",
        "name": "Ages",
        "status": "active",
        "organization_id": ORG,
        "minimum_age": "twelve",
    }
    path = tmp_path / "services.json"
    path.write_text(json.dumps([good, bad_schedule, bad_org, ages, ["not an object"]]), encoding="utf-8")
    report, _ = import_hsds(path)
    db.session.commit()
    assert sorted(report.errors) == sorted(
        [
            "services.json:/1/schedules/0 [5c000000-0000-4000-8000-000000000011]: "
            "'opens_at': '9am' is not a time HH:MM",
            "services.json:/2/organization [0b9a5f6e-0000-4000-8000-0000000000aa]: 'name' is required",
            "services.json:/3 [0b9a5f6e-0000-4000-8000-000000000013]: 'minimum_age': 'twelve' is not a number",
            "services.json:/4: cannot tell which HSDS object this is (service, organization, location, "
            "service_at_location, taxonomy_term, taxonomy); give --type",
        ]
    )
    assert report.skipped_with_parent == 2  # the orphan service and its phone
    assert db.session.get(Service, "0b9a5f6e-0000-4000-8000-000000000011").schedules == []
    assert db.session.get(Service, "0b9a5f6e-0000-4000-8000-000000000012") is None
    assert db.session.get(Service, SERVICE_ID) is not None


def test_unreadable_input_is_reported(app, tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"id": ', encoding="utf-8")
    report, _ = import_hsds(path)
    assert len(report.errors) == 1 and report.errors[0].startswith("broken.json: not readable JSON")


def test_a_failing_record_leaves_nothing_behind(app, monkeypatch):
    """Each record runs in a savepoint: a record that fails after writing is rolled back entirely."""
    original = hsds_import.Importer._apply_language

    def write_then_fail(self, rec):
        original(self, rec)
        db.session.flush()
        raise RecordError("failed after writing")

    monkeypatch.setattr(hsds_import.Importer, "_apply_language", write_then_fail)
    report, _ = import_hsds(EXAMPLES / "service_full.json")
    db.session.commit()
    assert any(e.endswith("failed after writing") for e in report.errors)
    assert _count(Language) == 0
    assert _count(Service) == 1 and _count(RequiredDocument) == 1 and _count(Phone) == 3


def test_dry_run_saves_nothing(app):
    result = app.test_cli_runner().invoke(args=["import-hsds", "--dry-run", str(EXAMPLES / "service_full.json")])
    assert result.exit_code == 0, result.output
    assert "Created: language 1, location 1, organization 1" in result.stdout
    assert "Dry run: nothing was saved." in result.stdout
    db.session.expire_all()
    assert _count(Service) == 0 and _count(Organization) == 0 and _count(TaxonomyTerm) == 0


def test_progress_is_shown_for_large_files(app, tmp_path):
    org = {"id": ORG, "name": "Big agency", "description": "Many services."}
    services = [
        {"id": f"0b9a5f6e-0000-4000-8000-{i:012d}", "name": f"Service {i}", "status": "active", "organization": org}
        for i in range(300)
    ]
    path = tmp_path / "many.json"
    path.write_text(json.dumps(services), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-hsds", str(path)])
    assert result.exit_code == 0, result.output
    assert "Importing records" in result.stderr
    assert "Created: organization 1, service 300." in result.stdout
    assert _count(Service) == 300


def test_removed_children_are_removed_on_reimport(app, tmp_path):
    data = json.loads((EXAMPLES / "service_full.json").read_text(encoding="utf-8"))
    import_hsds_json(tmp_path, data)
    assert len(db.session.get(Service, SERVICE_ID).schedules) == 1
    data["schedules"] = []
    data["service_at_locations"][0]["schedules"] = []  # hours at the location are the service's too
    data["languages"] = [{"id": "2989d3ed-c547-48f8-8f9d-432d81c7892e", "code": "yue"}]
    del data["required_documents"]  # left out: left alone
    report = import_hsds_json(tmp_path, data)
    service = db.session.get(Service, SERVICE_ID)
    assert service.schedules == [] and [lang.code for lang in service.languages] == ["yue"]
    assert len(service.required_documents) == 1
    assert report.updated["schedule removed"] == 1


def _service_with_terms(terms: list[dict]) -> dict:
    return {
        "id": "0b9a5f6e-0000-4000-8000-000000000021",
        "name": "Drop-in centre",
        "status": "active",
        "organization": {"id": ORG, "name": "Example Organization Inc.", "description": "x"},
        "attributes": [
            {"id": f"a0000000-0000-4000-8000-00000000000{i}", "link_type": "service_type", "taxonomy_term": term}
            for i, term in enumerate(terms)
        ],
    }


def test_taxonomy_terms_map_onto_ours(seeded_app, tmp_path):
    mapping = tmp_path / "map.yaml"
    mapping.write_text("map:\n  - {taxonomy: AIRS, code: BD-1800, to: food-relief}\n", encoding="utf-8")
    terms = [
        {
            "id": "7e000000-0000-4000-8000-000000000001",
            "name": "Legal aid",
            "description": "",
            "taxonomy": "Open Eligibility",
        },
        {
            "id": "7e000000-0000-4000-8000-000000000002",
            "name": "SHELTERS",
            "description": "",
            "taxonomy": "Open Eligibility",
        },
        {
            "id": "7e000000-0000-4000-8000-000000000003",
            "code": "BD-1800",
            "name": "Emergency Food",
            "description": "",
            "taxonomy": "AIRS",
        },
        {
            "id": "7e000000-0000-4000-8000-000000000004",
            "code": "BD-1800.2000",
            "name": "Laundry Facilities",
            "description": "",
            "taxonomy": "AIRS",
            "parent_id": "7e000000-0000-4000-8000-000000000003",
        },
    ]
    path = tmp_path / "service.json"
    path.write_text(json.dumps(_service_with_terms(terms)), encoding="utf-8")
    seeded_app.config["SEED_DIR"] = str(tmp_path)  # no default mapping file there: only --taxonomy-map
    result = seeded_app.test_cli_runner().invoke(args=["import-hsds", str(path), "--taxonomy-map", str(mapping)])
    assert result.exit_code == 0, result.output
    assert "Taxonomy terms: 3 mapped onto ours, 1 kept in their own taxonomy." in result.stdout
    service = db.session.get(Service, "0b9a5f6e-0000-4000-8000-000000000021")
    codes = sorted(t.code for t in service.taxonomy_terms)
    assert codes == ["BD-1800.2000", "food-relief", "legal-aid", "shelter"]
    kept = db.session.get(TaxonomyTerm, "7e000000-0000-4000-8000-000000000004")
    assert kept.parent.code == "food-relief"  # under the term its parent maps onto
    assert kept.taxonomy.name == "AIRS"
    assert db.session.get(TaxonomyTerm, "7e000000-0000-4000-8000-000000000001") is None  # mapped, not copied


def test_default_mapping_file_is_used(seeded_app, tmp_path):
    term = {
        "id": "7e000000-0000-4000-8000-000000000011",
        "name": "Food Pantries",
        "description": "",
        "taxonomy": "Open Eligibility",
    }
    path = tmp_path / "service.json"
    path.write_text(json.dumps(_service_with_terms([term])), encoding="utf-8")
    result = seeded_app.test_cli_runner().invoke(args=["import-hsds", str(path)])
    assert result.exit_code == 0, result.output
    service = db.session.get(Service, "0b9a5f6e-0000-4000-8000-000000000021")
    assert [t.code for t in service.taxonomy_terms] == ["food-bank"]


def test_import_command_help_explains_itself(app):
    runner = app.test_cli_runner()
    for command in ("import-hsds", "export-hsds"):
        result = runner.invoke(args=[command, "--help"])
        assert result.exit_code == 0
        assert "HSDS 3.0" in result.output
    assert "--dry-run" in runner.invoke(args=["import-hsds", "--help"]).output


# --- a location of no organization -------------------------------------------------------------


def test_location_without_an_organization_imports_and_is_upserted_by_id(app, tmp_path):
    report, _ = import_hsds(EXAMPLES / "location.json")
    db.session.commit()
    assert report.errors == [] and dict(report.created) == {"location": 1, "phone": 1}
    location = db.session.get(Location, LOCATION_ID)
    assert location.organization_id is None and location.organization is None
    assert (location.name, location.address_1, location.postal_code) == (
        "MyCity Civic Center",
        "1-30 Main Street, MyVillage",
        "ABC 1234",
    )
    assert [p.number for p in location.phones] == ['"+44 1234 234567"']
    assert location.latitude is None and any("not a place on Earth" in w for w in report.warnings)
    assert report.not_modelled["location.schedules"] == 1  # a location's own hours

    data = json.loads((EXAMPLES / "location.json").read_text(encoding="utf-8"))
    data["name"] = "MyCity Civic Centre"
    again = import_hsds_json(tmp_path, data)
    assert again.errors == [] and dict(again.updated) == {"location": 1}
    assert _count(Location) == 1 and db.session.get(Location, LOCATION_ID).name == "MyCity Civic Centre"

    # An organization that lists the location takes it; an import that names none leaves it there.
    import_hsds(EXAMPLES / "organization_full.json")
    db.session.commit()
    assert db.session.get(Location, LOCATION_ID).organization_id == EXAMPLE_ORG
    import_hsds(EXAMPLES / "location.json")
    db.session.commit()
    assert db.session.get(Location, LOCATION_ID).organization_id == EXAMPLE_ORG


def test_service_at_a_location_of_no_organization_is_searchable(app, client, tmp_path):
    location = json.loads((EXAMPLES / "location.json").read_text(encoding="utf-8"))
    service = {
        "id": "0b9a5f6e-0000-4000-8000-000000000031",
        "name": "Saturday legal clinic",
        "description": "Free advice on tenancy.",
        "status": "active",
        "organization": {"id": ORG, "name": "Example Organization Inc.", "description": "x"},
        "service_at_locations": [{"id": "0b9a5f6e-0000-4000-8000-000000000032", "location_id": LOCATION_ID}],
    }
    path = tmp_path / "clinic.json"
    path.write_text(json.dumps([location, service]), encoding="utf-8")
    result = app.test_cli_runner().invoke(args=["import-hsds", str(path)])
    assert result.exit_code == 0, result.output
    assert db.session.get(Location, LOCATION_ID).organization_id is None
    hits = client.get("/api/v1/search", query_string={"q": "legal clinic"}).get_json()["contents"]
    assert [(h["service_id"], h["location_id"], h["organization_name"]) for h in hits] == [
        (service["id"], LOCATION_ID, "Example Organization Inc.")
    ]


# --- long required documents ---------------------------------------------------------------------

LONG_DOCUMENT = ("身份证原件及复印件；" * 50)[:499] + "。"


def test_a_long_required_document_is_kept_whole(app, tmp_path):
    assert len(LONG_DOCUMENT) == 500
    service = {
        "id": "0b9a5f6e-0000-4000-8000-000000000041",
        "name": "Housing advice",
        "status": "active",
        "organization": {"id": ORG, "name": "Example Organization Inc.", "description": "x"},
        "required_documents": [{"id": "0b9a5f6e-0000-4000-8000-000000000042", "document": LONG_DOCUMENT}],
    }
    report = import_hsds_json(tmp_path, service)
    assert report.errors == [] and report.warnings == []
    [document] = db.session.get(Service, service["id"]).required_documents
    assert document.document == LONG_DOCUMENT


# --- monthly and every-N-weeks schedules ----------------------------------------------------------

CLINIC = "0b9a5f6e-0000-4000-8000-000000000051"
RECURRING = [
    {
        "id": "5c000000-0000-4000-8000-000000000021",
        "freq": "MONTHLY",
        "byday": "1MO",
        "opens_at": "09:00",
        "closes_at": "12:00",
        "description": "义诊",
    },
    {
        "id": "5c000000-0000-4000-8000-000000000022",
        "freq": "MONTHLY",
        "byday": "-1FR,3WE",
        "opens_at": "14:00",
        "closes_at": "17:00",
    },
    {
        "id": "5c000000-0000-4000-8000-000000000023",
        "freq": "MONTHLY",
        "bymonthday": "1,15,-1",
        "opens_at": "09:00",
        "closes_at": "11:00",
    },
    {
        "id": "5c000000-0000-4000-8000-000000000024",
        "freq": "WEEKLY",
        "interval": 2,
        "byday": "TU,TH",
        "dtstart": "2026-01-06",
        "wkst": "SU",
        "opens_at": "18:00",
        "closes_at": "20:00",
    },
    {
        "id": "5c000000-0000-4000-8000-000000000025",
        "freq": "MONTHLY",
        "interval": 3,
        "byday": "2WE",
        "dtstart": "2026-01-14",
        "opens_at": "10:00",
        "closes_at": "11:30",
    },
    {
        "id": "5c000000-0000-4000-8000-000000000026",
        "freq": "MONTHLY",
        "byday": "FR",
        "bymonthday": "13",
        "opens_at": "19:00",
        "closes_at": "01:00",
    },
]


def _clinic(schedules: list[dict]) -> dict:
    return {
        "id": CLINIC,
        "name": "Free clinic",
        "status": "active",
        "organization": {"id": ORG, "name": "Example Organization Inc.", "description": "x"},
        "schedules": schedules,
    }


def test_monthly_and_every_n_weeks_schedules_are_kept_and_exported_as_given(app, tmp_path):
    from directory.api.hsds_export import service_dict
    from tests.hsds_reference import assert_valid

    report = import_hsds_json(tmp_path, _clinic(RECURRING))
    assert report.errors == [] and report.warnings == [] and report.created["schedule"] == 6
    stored = {s.id: s for s in db.session.get(Service, CLINIC).schedules}
    first_monday = stored[RECURRING[0]["id"]]
    assert (first_monday.freq, first_monday.interval, first_monday.byday, first_monday.opens_at) == (
        "MONTHLY",
        1,
        "1MO",
        time(9),
    )
    fortnightly = stored[RECURRING[3]["id"]]
    assert (fortnightly.interval, fortnightly.dtstart.isoformat(), fortnightly.wkst) == (2, "2026-01-06", "SU")
    assert stored[RECURRING[2]["id"]].bymonthday == "1,15,-1" and stored[RECURRING[2]["id"]].byday == ""

    exported = {s["id"]: s for s in service_dict(db.session.get(Service, CLINIC))["schedules"]}
    for given in RECURRING:
        sent = exported[given["id"]]
        assert_valid(sent, "schedule")
        for key, value in given.items():
            expected = f"{value}:00" if key in ("opens_at", "closes_at") else value
            assert sent[key] == expected, (given["id"], key)
        assert sent["timezone"] == 8

    again = import_hsds_json(tmp_path, _clinic(RECURRING))
    assert dict(again.created) == {} and dict(again.updated) == {}


@pytest.mark.parametrize(
    ("schedule", "error"),
    [
        ({"freq": "MONTHLY", "byday": "0MO"}, "'byday': 0MO: a weekday is numbered 1 to 5"),
        ({"freq": "MONTHLY", "byday": "1XY"}, "'byday': 1XY is not a weekday (MO, TU, WE, TH, FR, SA, SU), optionally"),
        ({"byday": "1MO"}, "'byday': 1MO: a numbered weekday needs freq MONTHLY"),
        ({"freq": "MONTHLY", "bymonthday": "32"}, "'bymonthday': 32 is not a day of the month (1 to 31, or -1 to -31)"),
        ({"interval": 2, "byday": "MO"}, "'dtstart' is required with interval 2: it says which weeks count"),
        (
            {"freq": "MONTHLY", "interval": 2, "byday": "1MO"},
            "'dtstart' is required with interval 2: it says which months",
        ),
        ({"interval": 0, "byday": "MO"}, "'interval' must be a whole number from 1 to 99, not 0"),
        ({"interval": "every other", "byday": "MO"}, "'interval': 'every other' is not a number"),
        ({"wkst": "XX", "byday": "MO"}, "'wkst': XX is not a weekday"),
        ({"freq": "MONTHLY", "byday": "1MO", "dtstart": "soon"}, "'dtstart': 'soon' is not a date YYYY-MM-DD"),
    ],
)
def test_unreadable_recurring_schedules_are_reported(app, tmp_path, schedule, error):
    record = {"id": "5c000000-0000-4000-8000-000000000031", "opens_at": "09:00", "closes_at": "12:00", **schedule}
    report = import_hsds_json(tmp_path, _clinic([record]))
    assert len(report.errors) == 1, report.errors
    assert report.errors[0].startswith(f"data.json:/schedules/0 [{record['id']}]: {error}"), report.errors
    assert db.session.get(Service, CLINIC).schedules == []


@pytest.mark.parametrize(
    ("schedule", "warning"),
    [
        ({"freq": "DAILY", "byday": "MO"}, "DAILY schedules are not modelled"),
        ({"freq": "MONTHLY"}, "a schedule without weekdays (or days of the month) and opening hours"),
        # 23:00 UTC is 07:00 the next day in Guangzhou: "the first Monday" cannot be moved to a Tuesday.
        ({"freq": "MONTHLY", "byday": "1MO", "opens_at": "23:00Z", "closes_at": "23:30Z"}, "cross midnight"),
    ],
)
def test_recurring_schedules_we_cannot_keep_are_skipped_with_a_warning(app, tmp_path, schedule, warning):
    record = {"id": "5c000000-0000-4000-8000-000000000032", "opens_at": "09:00", "closes_at": "12:00", **schedule}
    report = import_hsds_json(tmp_path, _clinic([record]))
    assert report.errors == []
    assert any(warning in w for w in report.warnings), report.warnings
    assert db.session.get(Service, CLINIC).schedules == []
