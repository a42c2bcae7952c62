"""flask export-hsds: the files validate against the HSDS 3.0 schemas, and importing them into an empty
database gives back the same catalog, field for field."""

from __future__ import annotations

import json
from datetime import date, time

import pytest
from sqlalchemy import select

from directory.api.hsds_common import EXTENSION_TAXONOMY_ID
from directory.api.hsds_export import export_catalog
from directory.api.hsds_import import import_hsds
from directory.catalog.models import (
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceArea,
    ServiceAtLocation,
)
from directory.extensions import db
from directory.models_base import utcnow
from tests.conftest import build_app
from tests.hsds_reference import (
    assert_valid,
    catalog_snapshot,
    read_csv,
    reference_datapackage,
    snapshot_differences,
    typed_row,
)

LONE_LOCATION = "6c000000-0000-4000-8000-000000000001"
LONG_DOCUMENT = "户口本原件（" + "如户口不在广州，需另带居住证及近六个月社保缴费记录；" * 20
LONG_DOCUMENT = LONG_DOCUMENT[:499] + "）"


def _vary_the_catalog() -> None:
    """Give the demo catalog values the seed never sets, so that the round trip covers them."""
    services = db.session.scalars(select(Service).order_by(Service.id)).all()
    first, second, third = services[:3]
    first.assured_date = date(2025, 3, 14)
    first.assurer_email = "staff@example.org"
    first.alert = "春节期间暂停服务"
    first.capacity_note = "候补名单约两周"
    first.accepting_referrals = False
    first.is_demo = False
    first.url = "https://example.org/service"
    first.email = "service@example.org"
    first.minimum_age = 16  # differs from its rules' age: travels as an extension
    second.status = "temporarily closed"
    second.eligibility_rules = []
    second.eligibility_description = "  不限  "  # not stripped on the way back
    third.schedule_exceptions.append(
        ScheduleException(starts_on=date(2027, 2, 6), ends_on=date(2027, 2, 12), closed=True, description="春节休息")
    )
    third.schedule_exceptions.append(
        ScheduleException(
            starts_on=date(2027, 5, 1), ends_on=date(2027, 5, 1), closed=False, opens_at=time(9), closes_at=time(12)
        )
    )
    third.phones.append(Phone(number="020-0000-1234", extension="88", type="voice", description="总机"))
    # service areas: a street of a district, and the whole city, in this order
    third.service_areas += [
        ServiceArea(district="番禺区", street="市桥街道", description="只服务市桥街居民", position=0),
        ServiceArea(position=1),
    ]
    location = db.session.scalars(select(Location).order_by(Location.id)).first()
    location.active = False
    location.postal_code = "510620"
    location.address_1 = "天河路1号（虚构地址）"
    org = db.session.scalars(select(Organization).order_by(Organization.id)).first()
    org.email = "org@example.org"
    # A location of no organization (HSDS allows it), where a service is offered; a long document;
    # hours that recur monthly and every two weeks.
    lone = Location(
        id=LONE_LOCATION, name="市民服务中心（虚构）", district="越秀区", latitude=23.129, longitude=113.264
    )
    lone.phones.append(Phone(number="020-0000-5678", type="voice"))
    second.service_at_locations.append(ServiceAtLocation(location=lone, description="每月第一个星期一"))
    second.required_documents.append(RequiredDocument(document=LONG_DOCUMENT))
    second.schedules += [
        Schedule(freq="MONTHLY", byday="1MO", opens_at=time(9), closes_at=time(12), description="义诊"),
        Schedule(freq="MONTHLY", byday="", bymonthday="1,-1", opens_at=time(14), closes_at=time(16)),
        Schedule(
            freq="WEEKLY", interval=2, byday="TU,TH", dtstart=date(2026, 1, 6), opens_at=time(18), closes_at=time(20)
        ),
    ]
    first.last_modified = utcnow().replace(microsecond=123456)
    db.session.commit()


@pytest.fixture
def exported(seeded_app, tmp_path):
    _vary_the_catalog()
    out = tmp_path / "out"
    report = export_catalog(out)
    return out, report


def test_csv_datapackage_follows_hsds(exported):
    out, report = exported
    package = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))
    reference = {r["name"]: r for r in reference_datapackage()["resources"]}
    ours = {r["name"]: r for r in package["resources"]}
    assert ours.keys() == reference.keys()  # every HSDS table, those we do not model with a header only
    ids: dict[str, set[str]] = {}
    rows_of: dict[str, list[dict]] = {}
    for name, resource in ours.items():
        expected = reference[name]
        assert resource["path"] == expected["path"]
        assert [(f["name"], f["type"]) for f in resource["schema"]["fields"]] == [
            (f["name"], f["type"]) for f in expected["schema"]["fields"]
        ]
        header, rows = read_csv(out / resource["path"])
        assert header == [f["name"] for f in expected["schema"]["fields"]]
        rows_of[name] = rows
        ids[name] = {row["id"] for row in rows}
        assert len(ids[name]) == len(rows), f"{name}: duplicate ids"
        for line, row in enumerate(rows, start=2):
            assert_valid(typed_row(expected, row), name, f"{resource['path']}:{line}")
    assert report.rows["service"] == db.session.scalar(select(db.func.count()).select_from(Service))
    # Foreign keys, as the datapackage declares them (attributes link to any table by link_entity).
    for name, resource in reference.items():
        for key in resource["schema"].get("foreignKeys", []):
            target = ids[key["reference"]["resource"]]
            for row in rows_of[name]:
                value = row.get(key["fields"])
                assert not value or value in target, f"{name}.{key['fields']} {value} not in {key['reference']}"
    for row in rows_of["attribute"]:
        assert row["link_id"] in ids[row["link_entity"]], row


def test_json_files_follow_hsds(exported):
    out, _ = exported
    organizations = json.loads((out / "json" / "organizations.json").read_text(encoding="utf-8"))
    assert len(organizations) == db.session.scalar(select(db.func.count()).select_from(Organization))
    services = 0
    for i, org in enumerate(organizations):
        assert_valid(org, "organization", f"organizations.json/{i}")
        for service in org["services"]:
            assert_valid(service, "service", f"service {service['id']}")
            services += 1
    assert services == db.session.scalar(select(db.func.count()).select_from(Service))
    [lone] = json.loads((out / "json" / "locations.json").read_text(encoding="utf-8"))
    assert_valid(lone, "location", "locations.json/0")
    assert lone["id"] == LONE_LOCATION and "organization_id" not in lone and lone["phones"]
    for term in json.loads((out / "json" / "taxonomy_terms.json").read_text(encoding="utf-8")):
        assert_valid(term, "taxonomy_term")
    taxonomies = json.loads((out / "json" / "taxonomies.json").read_text(encoding="utf-8"))
    for taxonomy in taxonomies:
        assert_valid(taxonomy, "taxonomy")
    assert EXTENSION_TAXONOMY_ID in {t["id"] for t in taxonomies}


def test_rules_are_stated_in_hsds_eligibility_fields(exported):
    out, _ = exported
    services = {
        s["id"]: s
        for org in json.loads((out / "json" / "organizations.json").read_text(encoding="utf-8"))
        for s in org["services"]
    }
    with_age_rule = next(
        s
        for s in db.session.scalars(select(Service))
        if any(r["criterion"] == "age" and r.get("min") for r in s.eligibility_rules)
    )
    sent = services[with_age_rule.id]
    rule_min = max(r["min"] for r in with_age_rule.eligibility_rules if r["criterion"] == "age" and r.get("min"))
    assert sent["minimum_age"] == rule_min
    assert sent["eligibility_description"].startswith(with_age_rule.eligibility_description.strip())
    assert len(sent["eligibility_description"]) > len(with_age_rule.eligibility_description.strip())


@pytest.mark.parametrize("form", ["csv", "json"])
def test_export_then_import_into_an_empty_database_gives_the_same_catalog(exported, tmp_path, migrated_db, form):
    out, _ = exported
    before = catalog_snapshot()
    (tmp_path / "empty").mkdir()
    empty = build_app(tmp_path / "empty", migrated_db)
    with empty.app_context():
        report, _ = import_hsds(out if form == "csv" else out / "json")
        db.session.commit()
        assert not report.errors, report.errors[:5]
        assert not report.warnings, report.warnings[:5]
        after = catalog_snapshot()
        db.session.remove()
        db.engine.dispose()
    assert not snapshot_differences(before, after), snapshot_differences(before, after)
    assert len(LONG_DOCUMENT) == 500 and LONG_DOCUMENT in {
        doc["document"] for doc in after["RequiredDocument"].values()
    }
    assert after["Location"][LONE_LOCATION]["organization_id"] is None
    assert {(s["freq"], s["interval"], s["byday"]) for s in after["Schedule"].values()} >= {
        ("MONTHLY", 1, "1MO"),
        ("MONTHLY", 1, ""),
        ("WEEKLY", 2, "TU,TH"),
    }


def test_importing_the_export_again_changes_nothing(exported):
    out, _ = exported
    before = catalog_snapshot()
    report, _ = import_hsds(out)
    db.session.commit()
    assert not report.errors
    assert dict(report.created) == {} and dict(report.updated) == {}
    assert catalog_snapshot() == before


def test_export_command(seeded_app, tmp_path):
    result = seeded_app.test_cli_runner().invoke(args=["export-hsds", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    assert "Wrote 26 file(s)" in result.output and "service " in result.output
    assert (tmp_path / "out" / "datapackage.json").exists()
    assert (tmp_path / "out" / "json" / "organizations.json").exists()
    assert (tmp_path / "out" / "json" / "locations.json").read_text(encoding="utf-8").strip() == "[]"
