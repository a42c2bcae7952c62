"""How people ask (issue 18): function words, partial matches, phrases as typed, traditional Chinese,
typos in longer queries, spaced pinyin, honest totals, and one way into search (issue 17)."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import select

from directory.catalog.models import Service
from directory.extensions import db
from directory.models_base import id_from_key
from directory.search.querytext import normalize, parse_query
from directory.search.synonyms import Synonyms
from tests.test_query_set import load_queries


def api(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def ids(data: dict) -> list[str]:
    return [item["service_id"] for item in data["contents"]]


def codes(item: dict) -> set[str]:
    return set(item["taxonomy_term_codes"])


# --- the query as understood (pure functions) ------------------------------------------------------


def test_function_words_are_dropped_and_phrases_matched_as_typed():
    syn = Synonyms(
        [["就业", "job", "employment"], ["康复人员", "ex-addict"]],
        [(["找工作", "工作"], ["就业"]), (["社戒"], ["社区戒毒"])],
    )
    units = parse_query("请问哪里可以找工作", syn)
    assert [(u.text, u.searches) for u in units] == [("找工作", ("就业",))]
    assert [u.text for u in parse_query("社区戒毒社区康复工作站", syn)] == ["社区戒毒", "社区康复", "工作站"]
    assert parse_query("社戒", syn)[0].searches == ("社区戒毒",)  # jargon typed as two loose characters
    assert [u.text for u in parse_query("job for ex-addicts near me", syn)] == ["job", "ex addicts"]
    assert [u.text for u in parse_query("the for a of to with in", syn)] == []
    assert parse_query("housing", syn)[0].searches == ("housing",)  # stemmed once, when searched (not hou)


def test_spaced_pinyin_is_joined_only_into_keys_the_index_knows():
    known = {"meishatong", "jiedu"}.__contains__
    assert [u.text for u in parse_query("mei sha tong", None, known)] == ["meishatong"]
    assert [u.text for u in parse_query("jie du hiv", None, known)] == ["jiedu", "hiv"]
    assert [u.text for u in parse_query("mei sha tong", None)] == ["mei", "sha", "tong"]  # no index: left apart
    assert [u.text for u in parse_query("ban ma", None, known)] == ["ban", "ma"]


def test_traditional_chinese_is_read_as_simplified():
    assert normalize("醫院 戒毒康復 愛滋病 檢測 禁毒協會") == "医院 戒毒康复 爱滋病 检测 禁毒协会"
    assert normalize("ＭＭＴ　美沙酮") == "mmt 美沙酮"  # full-width letters and spaces


def test_phrases_in_the_synonyms_file_must_name_what_to_search(tmp_path):
    bad = tmp_path / "synonyms.yaml"
    bad.write_text("groups: []\nphrases:\n  - {typed: [没钱]}\n", encoding="utf-8")
    with pytest.raises(ValueError, match="phrases"):
        Synonyms.load(bad)


# --- on the demo catalog -----------------------------------------------------------------------------


def test_english_function_words_never_become_required_terms(seeded_client):
    shelter = id_from_key("service", "s-anxin-dv-shelter")
    data = api(seeded_client, q="shelter for women", per_page=3)
    assert data["contents"][0]["service_id"] == shelter and not data["partial_matches"]
    jobs = api(seeded_client, q="job for ex-addicts", per_page=3)
    assert jobs["contents"] and all("recovery-employer" in codes(i) for i in jobs["contents"])
    chinese = api(seeded_client, q="请问哪里有美沙酮", per_page=3)
    assert all("methadone-clinic" in codes(i) for i in chinese["contents"]) and not chinese["partial_matches"]


def test_one_unmatched_word_gives_partial_matches_ranked_by_coverage(seeded_client):
    data = api(seeded_client, q="美沙酮 火星", per_page=5)
    assert data["partial_matches"] is True and data["total_items"] > 0
    assert all("methadone-clinic" in codes(i) and not i["matches_every_word"] for i in data["contents"])
    # Covering two of the three words ranks above covering one: the clinics with HIV testing come first.
    both = api(seeded_client, q="美沙酮 梅毒 火星", per_page=3)
    first = db.session.get(Service, both["contents"][0]["service_id"])
    assert "美沙酮" in first.name + first.description and "梅毒" in first.description
    page = seeded_client.get("/search", query_string={"q": "美沙酮 火星"}).get_data(as_text=True)
    assert "部分匹配" in page and "没有服务同时匹配所有词" in page


def test_full_matches_come_before_partial_ones(seeded_client):
    data = api(seeded_client, q="shelter for women", per_page=20)
    flags = [item["matches_every_word"] for item in data["contents"]]
    assert flags[0] and flags == sorted(flags, reverse=True)  # every-word matches first, then partial


@pytest.mark.parametrize(
    ("q", "expected"),
    [
        ("找工作", {"job-placement", "employment", "recovery-employer"}),
        ("看病没钱", {"medical-aid"}),
        ("住的地方", {"shelter", "housing-shelter"}),
        ("想戒毒", {"rehab-voluntary", "rehab-community", "drug-treatment"}),
        ("社戒", {"rehab-community"}),
        ("服药点", {"methadone-clinic"}),
        ("低保户", {"dibao"}),
    ],
)
def test_everyday_words_and_jargon_find_their_services(seeded_client, q, expected):
    data = api(seeded_client, q=q, per_page=3)
    assert len(data["contents"]) == 3 and all(codes(i) & expected for i in data["contents"]), data["contents"]


def test_work_inside_a_longer_word_is_not_employment(seeded_client):
    """工作 in 工作日 (working days) once marked a counselling listing as employment."""
    found = [i["name"] for i in api(seeded_client, q="就业", per_page=100)["contents"]]
    assert "保安员招聘" in found and "个体心理咨询（公益名额）" not in found
    stations = [i["name"] for i in api(seeded_client, q="工作站", per_page=100)["contents"]]
    assert stations and "保安员招聘" not in stations


@pytest.mark.parametrize(
    ("traditional", "simplified"), [("醫院", "医院"), ("戒毒康復", "戒毒康复"), ("禁毒協會", "禁毒协会")]
)
def test_traditional_finds_the_same_services_as_simplified(seeded_client, traditional, simplified):
    a, b = api(seeded_client, q=traditional, per_page=20), api(seeded_client, q=simplified, per_page=20)
    assert ids(a) and ids(a) == ids(b) and a["total_items"] == b["total_items"]


def test_each_word_of_a_longer_query_can_be_corrected_to_a_real_word(seeded_client):
    data = api(seeded_client, q="低宝 申请", per_page=5)
    assert data["corrected_from"] == "低宝 申请" and data["suggestion"] == "低保 申请"
    assert all("dibao" in codes(i) for i in data["contents"])
    sound = api(seeded_client, q="拖育", per_page=3)  # a homophone typo in the first character
    assert sound["suggestion"] == "托育" and all("childcare" in codes(i) for i in sound["contents"])
    text = " ".join(s.name + " " + (s.description or "") for s in db.session.scalars(select(Service)))
    for q in ["低宝 申请", "拖育", "美沙同", "艾滋病 检侧"]:
        suggestion = api(seeded_client, q=q)["suggestion"]
        assert suggestion and all(word in text for word in suggestion.split()), (q, suggestion)


def test_spaced_pinyin_finds_what_joined_pinyin_finds(seeded_client):
    spaced, joined = api(seeded_client, q="mei sha tong"), api(seeded_client, q="meishatong")
    assert ids(spaced) and ids(spaced) == ids(joined) and spaced["suggestion"] is None
    assert ids(api(seeded_client, q="jie du")) == ids(api(seeded_client, q="jiedu"))


@pytest.mark.parametrize("q", ["服务", "申请", "中心", "救助", "门诊"])
def test_totals_are_counted_not_guessed_on_the_demo_catalog(seeded_client, q):
    first = api(seeded_client, q=q, per_page=5)
    seen, page = set(), 1
    while True:
        data = api(seeded_client, q=q, per_page=100, page=page)
        seen.update(ids(data))
        if page >= data["total_pages"]:
            break
        page += 1
    assert not first["total_is_estimate"] and first["total_items"] == len(seen)
    page = seeded_client.get("/search", query_string={"q": q}).get_data(as_text=True)
    assert f"{len(seen)} 项服务" in page and "约" not in re.sub(r"<[^>]+>", "", page.split("result-count")[1][:200])


# --- one way into search -----------------------------------------------------------------------------


@pytest.mark.parametrize("q", ["找工作", "醫院", "mei sha tong", "低宝 申请", "shelter for women", "美沙酮 火星"])
def test_the_services_api_runs_the_same_search_as_the_search_api(seeded_client, q):
    search = api(seeded_client, q=q, per_page=10)
    services = seeded_client.get("/api/v1/services", query_string={"search": q, "per_page": 10}).get_json()
    assert [s["id"] for s in services["contents"]] == ids(search) and ids(search)
    assert services["total_items"] == search["total_items"]


def page_ids(client, params: dict) -> list[str]:
    page = client.get("/search", query_string=params).get_data(as_text=True)
    results = page.split('<ol class="cards results">', 1)
    if len(results) == 1:
        return []
    return re.findall(r'<li class="card">\s*<h3><a href="/services/([^"?]+)', results[1].split("</ol>", 1)[0])


def test_the_page_and_the_api_give_the_same_results_over_the_query_set(seeded_client):
    entries = load_queries()
    assert len(entries) >= 50
    for entry in entries:
        params = {"q": entry.get("query", ""), "per_page": 5}
        if entry.get("near"):
            params["near"] = entry["near"]
        data = seeded_client.get("/api/v1/search", query_string=params).get_json()
        assert page_ids(seeded_client, params) == [i["service_id"] for i in data.get("contents", [])], entry
