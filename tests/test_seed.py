"""The demo catalog: loads completely, idempotently, reports bad records, and is realistic."""

import math
import shutil
from collections import Counter

import yaml
from sqlalchemy import func, select

from directory.accounts.models import User
from directory.catalog.models import (
    DISTRICTS,
    Location,
    Organization,
    Phone,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.catalog.services import term_with_descendants
from directory.extensions import db
from directory.seed import load_seed
from tests.conftest import SEED_DIR


def _counts() -> dict:
    models = (Organization, Service, Location, ServiceAtLocation, TaxonomyTerm, Phone)
    return {m.__name__: db.session.scalar(select(func.count()).select_from(m)) for m in models}


def test_demo_catalog_size_and_coverage(seeded_app):
    services = db.session.scalars(select(Service)).all()
    assert len(services) >= 150
    assert db.session.scalar(select(func.count()).select_from(Organization)) >= 60

    districts = {loc.district for s in services for loc in s.locations}
    assert districts == set(DISTRICTS)

    for top in db.session.scalars(select(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None))):
        ids = set(term_with_descendants(top))
        assert any(ids & {t.id for t in s.taxonomy_terms} for s in services), f"no service in {top.code}"

    methadone = [s for s in services if any(t.code == "methadone-clinic" for t in s.taxonomy_terms)]
    assert len(methadone) >= 8
    assert len({loc.district for s in methadone for loc in s.locations}) >= 8

    assert all(s.is_demo and s.assured_date is None for s in services)  # demo and unverified
    assert all(s.description and s.eligibility_description for s in services)
    assert sum(1 for s in services if s.schedules) >= 0.8 * len(services)
    assert sum(1 for s in services if s.required_documents) >= 0.8 * len(services)


def test_domain_stories_are_in_the_catalog(seeded_app):
    def find(*words):
        query = select(Service)
        for word in words:
            query = query.where(Service.description.contains(word) | Service.name.contains(word))
        return db.session.scalars(query).all()

    assert find("先天性心脏病", "手术", "基金")  # a fund paying children's heart surgery
    assert find("快递", "分拣")  # a courier hiring people in recovery as sorters
    recovery_employers = db.session.scalars(
        select(Service).where(Service.taxonomy_terms.any(TaxonomyTerm.code == "recovery-employer"))
    ).all()
    assert len(recovery_employers) >= 3
    emergency_aid = db.session.scalars(
        select(Service).where(
            Service.taxonomy_terms.any(TaxonomyTerm.code == "subdistrict-office"),
            Service.description.contains("医疗"),
        )
    ).all()
    assert emergency_aid


def _nearest(places, lat, lon):
    def dist(p):
        dx = (p["lon"] - lon) * math.cos(math.radians(lat))
        return dx * dx + (p["lat"] - lat) ** 2

    return min(places, key=dist)


def test_coordinates_lie_in_the_stated_district(seeded_app):
    places = yaml.safe_load((SEED_DIR / "gazetteer.yaml").read_text(encoding="utf-8"))["places"]
    areas = [p for p in places if p["kind"] in ("subdistrict", "town")]
    assert {p["district"] for p in areas} == set(DISTRICTS)
    wrong = []
    for loc in db.session.scalars(select(Location)):
        nearest = _nearest(areas, loc.latitude, loc.longitude)
        if nearest["district"] != loc.district:
            wrong.append(f"{loc.name}: says {loc.district}, nearest is {nearest['name']} ({nearest['district']})")
    assert not wrong, wrong


def test_real_organizations_carry_no_invented_contacts():
    """Only organizations marked fictional may have phone numbers or street addresses."""
    for path in sorted((SEED_DIR / "catalog").glob("*.yaml")):
        for org in yaml.safe_load(path.read_text(encoding="utf-8"))["organizations"]:
            if org.get("fictional"):
                for phone in org.get("phones") or []:
                    assert phone["number"].startswith("020-0000-"), (path.name, org["key"])
                for loc in org.get("locations") or []:
                    assert not loc.get("address") or loc["address"].endswith("（虚构地址）"), loc["key"]
                continue
            assert not org.get("phones"), (path.name, org["key"])
            assert not any(loc.get("address") for loc in org.get("locations") or []), org["key"]
            assert not any(s.get("phones") for s in org.get("services") or []), org["key"]


def test_seed_twice_gives_the_same_rows(seeded_app):
    before = _counts()
    ids_before = set(db.session.scalars(select(Service.id)))
    report = load_seed(SEED_DIR)
    db.session.commit()
    assert not report.errors
    assert report.created == {} and report.updated == {}
    assert _counts() == before
    assert set(db.session.scalars(select(Service.id))) == ids_before


def test_seed_command_creates_demo_users_once(seeded_app):
    runner = seeded_app.test_cli_runner()
    first = runner.invoke(args=["seed", "--without-history"])  # the history's caseworkers: test_demo_history
    assert first.exit_code == 0, first.output
    roles = Counter(db.session.scalars(select(User.role)))
    assert roles == {"caseworker": 1, "agency_staff": 1, "manager": 1, "admin": 1}
    for role in roles:
        assert role in first.output
    second = runner.invoke(args=["seed", "--without-history"])
    assert second.exit_code == 0
    assert "Created: nothing." in second.output
    assert db.session.scalar(select(func.count()).select_from(User)) == 4


BAD_CATALOG = """\
organizations:
  - key: t-good
    name: 测试机构
    description: 一个正常的机构。
    locations:
      - {key: t-good-site, name: 站点, district: 天河区, latitude: 23.13, longitude: 113.33}
    services:
      - key: t-good-service
        name: 正常服务
        description: 正常。
        taxonomy: [legal-aid]
        locations: [t-good-site]
      - key: t-bad-taxonomy
        name: 分类错误
        description: 分类不存在。
        taxonomy: [no-such-term]
        locations: [t-good-site]
      - key: t-bad-hours
        name: 时间错误
        description: 时间格式不对。
        taxonomy: [legal-aid]
        locations: [t-good-site]
        schedules:
          - {byday: [MO], opens_at: "8点", closes_at: "17:00"}
      - key: t-bad-rule
        name: 规则错误
        description: 资格规则不对。
        taxonomy: [legal-aid]
        locations: [t-good-site]
        eligibility:
          - {criterion: age, min: 60, max: 18}
  - key: t-bad-org
    description: 没有名字的机构。
    services:
      - {key: t-orphan, name: 孤儿服务, description: x, taxonomy: [legal-aid]}
  - key: t-bad-location
    name: 坐标错误机构
    description: 坐标在广州以外。
    locations:
      - {key: t-far, name: 北京, district: 天河区, latitude: 39.9, longitude: 116.4}
      - {key: t-nodistrict, name: 无区, district: 深圳, latitude: 23.1, longitude: 113.3}
"""


def test_bad_records_are_reported_and_the_rest_loads(app, tmp_path):
    seed_dir = tmp_path / "seed"
    (seed_dir / "catalog").mkdir(parents=True)
    shutil.copy(SEED_DIR / "taxonomy.yaml", seed_dir / "taxonomy.yaml")
    (seed_dir / "catalog" / "test.yaml").write_text(BAD_CATALOG, encoding="utf-8")
    (seed_dir / "catalog" / "broken.yaml").write_text("organizations: [\n  - key: x\n", encoding="utf-8")

    report = load_seed(seed_dir)
    db.session.commit()

    errors = "\n".join(report.errors)
    assert "test.yaml:13 [t-bad-taxonomy]: unknown taxonomy code(s): no-such-term" in errors
    assert "test.yaml:18 [t-bad-hours]: opens_at: '8点' is not a time HH:MM" in errors
    assert "[t-bad-rule]: eligibility: rule 1 (age): 'min' is greater than 'max'" in errors
    assert "test.yaml:32 [t-bad-org]: organization skipped with its services: 'name' is required" in errors
    assert "[t-far]: coordinates 39.9,116.4 are outside Guangzhou" in errors
    assert "[t-nodistrict]: district '深圳' is not one of Guangzhou's 11 districts" in errors
    assert "broken.yaml: not valid YAML" in errors
    assert len(report.errors) == 7

    names = set(db.session.scalars(select(Service.name)))
    assert names == {"正常服务"}
    assert db.session.scalar(select(func.count()).select_from(Organization)) == 2  # good + bad-location org


def _bare_app(tmp_path, template=None):
    """An app on a database that no migration has touched (or a copy of ``template``)."""
    from directory import create_app
    from tests.conftest import _postgres, make_config, new_database

    return create_app(make_config(tmp_path, new_database(tmp_path, _postgres(), template)))


def test_seed_on_an_empty_database_creates_the_tables_first(tmp_path):
    app = _bare_app(tmp_path)
    with app.app_context():
        result = app.test_cli_runner().invoke(args=["seed", "--no-users"])
        assert result.exit_code == 0, result.output
        assert "creating its tables" in result.output
        assert db.session.scalar(select(func.count()).select_from(Service)) > 200
        db.session.remove()
        db.engine.dispose()


def test_seed_on_an_old_database_says_to_upgrade(tmp_path, migrated_db):
    from flask_migrate import stamp

    from directory.schema import schema_state

    app = _bare_app(tmp_path, migrated_db)
    with app.app_context():
        state = schema_state()
        assert state.up_to_date
        stamp(revision="15867853b0e7")  # the first migration: the database looks behind the code
        result = app.test_cli_runner().invoke(args=["seed"])
        assert result.exit_code != 0
        assert "flask db upgrade" in result.output
        assert isinstance(result.exception, SystemExit)  # a clear message, not a traceback
        db.session.remove()
        db.engine.dispose()
