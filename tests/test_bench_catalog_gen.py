"""The benchmark's synthetic catalog and query generator: deterministic, seed-shaped, spread over Guangdong."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest
import yaml

from bench.catalog_gen import dump_jsonl, generate_catalog, generate_queries, main
from directory.catalog.models import DISTRICTS

ROOT = Path(__file__).resolve().parent.parent
N = 2000
GZ_DISTRICTS = set(DISTRICTS)
SERVICE_KEYS = {
    "key", "organization", "name", "alternate_name", "description", "taxonomy", "status",
    "eligibility_description", "application_process", "fees_description", "accepting_referrals", "languages",
    "required_documents", "minimum_age", "maximum_age", "schedules", "locations", "eligibility",
}  # fmt: skip
_CJK = re.compile(r"[\u4e00-\u9fff]")
LOCATION_KEYS = {"key", "name", "district", "address", "latitude", "longitude"}


@pytest.fixture(scope="module")
def catalog() -> list[dict]:
    return generate_catalog(N)


@pytest.fixture(scope="module")
def queries(catalog: list[dict]) -> list[dict]:
    return generate_queries(catalog)


def _codes() -> set[str]:
    terms = yaml.safe_load((ROOT / "seed_data" / "taxonomy.yaml").read_text(encoding="utf-8"))["terms"]
    return {t["code"] for t in terms}


def test_same_seed_same_output(catalog: list[dict], queries: list[dict]) -> None:
    assert generate_catalog(N) == catalog
    assert generate_queries(catalog) == queries
    assert generate_catalog(200, seed=1) != generate_catalog(200, seed=2)


def test_records_have_the_seed_shape(catalog: list[dict]) -> None:
    codes = _codes()
    assert len(catalog) == N
    for svc in catalog:
        assert set(svc) == SERVICE_KEYS
        assert set(svc["organization"]) == {"key", "name", "alternate_name", "description"}
        assert svc["name"] and svc["description"] and svc["alternate_name"]
        assert not _CJK.search(svc["alternate_name"]) and not _CJK.search(svc["organization"]["alternate_name"])
        assert svc["taxonomy"] and set(svc["taxonomy"]) <= codes
        assert svc["status"] in {"active", "inactive", "defunct", "temporarily closed"}
        assert isinstance(svc["accepting_referrals"], bool)
        assert "zh" in svc["languages"]
        for sched in svc["schedules"]:
            assert set(sched) == {"byday", "opens_at", "closes_at"} and sched["byday"]
        for rule in svc["eligibility"]:
            assert "criterion" in rule
        assert len(svc["locations"]) <= 2
        for loc in svc["locations"]:
            assert set(loc) == LOCATION_KEYS
            assert 20.2 <= loc["latitude"] <= 25.6
            assert 109.6 <= loc["longitude"] <= 117.4


def test_text_is_chinese_with_english_names(catalog: list[dict]) -> None:
    assert all(any("\u4e00" <= ch <= "\u9fff" for ch in svc["description"]) for svc in catalog)
    assert len({svc["name"] for svc in catalog}) > 50
    assert len({svc["description"] for svc in catalog}) > N // 2


def test_keys_are_unique(catalog: list[dict]) -> None:
    assert len({svc["key"] for svc in catalog}) == N
    loc_keys = {loc["key"]: (svc["organization"]["key"], loc["name"]) for svc in catalog for loc in svc["locations"]}
    assert all(key.startswith(org_key) for key, (org_key, _) in loc_keys.items())


def test_spread_over_guangdong(catalog: list[dict]) -> None:
    located = [svc for svc in catalog if svc["locations"]]
    in_gz = sum(svc["locations"][0]["district"] in GZ_DISTRICTS for svc in located)
    assert abs(in_gz / len(located) - 0.60) <= 0.05
    no_location = sum(not svc["locations"] for svc in catalog) / N
    assert 0.02 <= no_location <= 0.08
    districts = {loc["district"] for svc in located for loc in svc["locations"]}
    assert districts.issuperset(GZ_DISTRICTS)
    assert districts.issuperset({"深圳市", "佛山市", "东莞市"})
    orgs = Counter(svc["organization"]["key"] for svc in catalog)
    assert max(orgs.values()) <= 3 and 1.3 <= N / len(orgs) <= 2.2


def test_taxonomy_skew(catalog: list[dict]) -> None:
    counts = Counter(code for svc in catalog for code in svc["taxonomy"])
    assert counts["subdistrict-office"] > counts["methadone-clinic"] * 4
    assert counts["community-health"] > counts["methadone-clinic"] * 4
    assert 0.005 <= counts["methadone-clinic"] / N <= 0.04


def test_query_mix(catalog: list[dict], queries: list[dict]) -> None:
    codes = _codes()
    assert len(queries) >= 200
    types = Counter(q["type"] for q in queries)
    assert set(types) == {"keyword", "near_me", "place_only"}
    assert all(count / len(queries) >= 0.30 for count in types.values())
    keywords = [q["q"] for q in queries if q["type"] == "keyword"]
    assert any(k.isascii() and " " not in k and k.islower() for k in keywords)  # English or pinyin
    assert any(not k.isascii() for k in keywords)
    assert any(" " in k for k in keywords)
    for q in queries:
        if q["type"] != "keyword":
            assert 20.2 <= q["lat"] <= 25.6 and 109.6 <= q["lon"] <= 117.4
        if q["type"] == "near_me":
            assert q["radius_km"] == 5 and q["category"] in codes and "q" in q
        if q["type"] == "place_only":
            assert q["radius_km"] == 10
    assert len(generate_queries(catalog, n=50)) == 200


def test_dump_round_trips(tmp_path: Path, catalog: list[dict], queries: list[dict]) -> None:
    path = tmp_path / "out" / "catalog.jsonl"
    assert dump_jsonl(catalog[:300], path) == 300
    text = path.read_text(encoding="utf-8")
    assert "\\u" not in text  # Chinese written as is
    assert [json.loads(line) for line in text.splitlines()] == catalog[:300]


def test_main_writes_both_files(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--services", "150", "--out", str(tmp_path)]) == 0
    lines = (tmp_path / "catalog.jsonl").read_text(encoding="utf-8").splitlines()
    assert len(lines) == 150
    assert len((tmp_path / "queries.jsonl").read_text(encoding="utf-8").splitlines()) == 240
    assert "150 services" in capsys.readouterr().out
