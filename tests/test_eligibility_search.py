"""Eligibility in search and on the service page, on the demo catalog and its real index."""

import re

import pytest
from sqlalchemy import select

from directory.catalog.models import Service
from directory.catalog.services import local_today
from directory.eligibility.rules import INELIGIBLE, evaluate
from directory.extensions import db
from tests.conftest import login, post

# The training case's client A: 27, a mother of two (2 and 5) in 越秀区, in community detox, uses opioids.
CLIENT_A = {
    "f_age": "27",
    "f_sex": "female",
    "f_district": "越秀区",
    "f_rehab_status": "community_detox",
    "f_substances": "opioids",
}
FACTS_A = {
    "age": 27,
    "sex": "female",
    "district": "越秀区",
    "rehab_status": "community_detox",
    "substances": ["opioids"],
}


def api(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def service_named(name: str) -> Service:
    return db.session.scalars(select(Service).where(Service.name == name)).one()


def verdict_a(service: Service) -> str:
    return evaluate(service.eligibility_rules, FACTS_A, local_today()).status


def hit_card(page: str, name: str) -> str:
    """The search result card of one service (its <li>)."""
    match = re.search(r'<li class="card">(?:(?!</li>).)*?>' + re.escape(name) + r"</a>.*?</li>", page, re.S)
    assert match, f"{name} is not on the page"
    return match.group(0)


def test_client_a_does_not_see_services_she_is_ineligible_for_but_keeps_unknown_ones(seeded_client):
    guard_job = service_named("保安员招聘")  # an employer excluding drug use and people in rehab
    counselling = service_named("个体心理咨询（公益名额）")  # needs a monthly income under 3,000 yuan
    assert verdict_a(guard_job) == INELIGIBLE and verdict_a(counselling) == "unknown"

    # 收入 (income): the guard job's rules and the counselling's income limit both speak of it
    shown = seeded_client.get("/search", query_string={"q": "收入", **CLIENT_A, "per_page": 100})
    page = shown.get_data(as_text=True)
    assert shown.status_code == 200
    card = hit_card(page, "保安员招聘")
    assert "verdict-ineligible" in card and "不接受使用阿片类物质、兴奋剂类物质或其他毒品者" in card

    hidden = seeded_client.get(
        "/search", query_string={"q": "收入", **CLIENT_A, "hide_ineligible": "1", "per_page": 100}
    )
    page = hidden.get_data(as_text=True)
    assert "保安员招聘" not in page
    card = hit_card(page, "个体心理咨询（公益名额）")
    assert "verdict-unknown" in card and "需询问：月收入" in card  # kept, marked, with what to ask
    assert "verdict-ineligible" not in page
    assert re.search(r"\d+ 项不符合条件的服务已隐藏", page)  # honest about what is left out
    # The result links carry the client's situation to the service page.
    assert f"/services/{counselling.id}?f_age=27&amp;f_sex=female" in page


def test_the_api_gives_each_hit_its_eligibility(seeded_client):
    data = api(seeded_client, q="收入", per_page=100, **CLIENT_A)
    by_name = {item["name"]: item["eligibility"] for item in data["contents"]}
    guard = by_name["保安员招聘"]
    assert guard["status"] == "ineligible"
    assert [f["criterion"] for f in guard["failed"]] == ["substance", "rehab_status"]
    counselling = by_name["个体心理咨询（公益名额）"]
    assert counselling["status"] == "unknown" and counselling["missing_facts"] == ["monthly_income"]
    assert counselling["questions"] == ["案主的月收入是多少？"]
    assert data["query"]["client_facts_given"] is True and data["hidden_ineligible"] is None
    without = api(seeded_client, q="就业")
    assert all(item["eligibility"] is None for item in without["contents"])
    assert without["query"]["client_facts_given"] is False


def _all_pages(client, **params):
    items, page = [], 1
    while True:
        data = api(client, page=page, **params)
        items.extend(data["contents"])
        if page >= data["total_pages"]:
            return items, data
        page += 1


@pytest.mark.parametrize(
    "search",
    [
        {"near": "越秀区", "radius_km": "200"},  # by place: the per-segment arrays
        {"category": "drug-treatment"},  # browsing a category: every match
        {"q": "服务"},  # words: the relevance tiers
        {"q": "社区", "district": "越秀区"},
    ],
    ids=["near", "category", "words", "words-district"],
)
def test_hiding_is_exact_and_pages_count_only_what_is_shown(seeded_client, search):
    everything, _ = _all_pages(seeded_client, per_page=100, **search, **CLIENT_A)
    shown, last = _all_pages(seeded_client, per_page=7, hide_ineligible="1", **search, **CLIENT_A)
    ids = [item["service_id"] for item in shown]
    assert len(ids) == len(set(ids)) == last["total_items"]  # every page full, none twice, total honest
    assert all(item["eligibility"]["status"] != "ineligible" for item in shown)
    expected = {
        item["service_id"]
        for item in everything
        if verdict_a(db.session.get(Service, item["service_id"])) != INELIGIBLE
    }
    assert set(ids) == expected
    hidden = len(everything) - len(expected)
    assert hidden > 0 and last["hidden_ineligible"] == hidden
    unknown = [item for item in shown if item["eligibility"]["status"] == "unknown"]
    assert unknown and all(item["eligibility"]["missing_facts"] for item in unknown)


def test_a_place_search_hides_exactly_the_services_the_database_says(seeded_client):
    data = api(seeded_client, near="越秀区", radius_km=200, per_page=100, page=1, hide_ineligible=1, **CLIENT_A)
    located = [
        s
        for s in db.session.scalars(select(Service).where(Service.status == "active"))
        # located, or serving the whole city or 越秀区 (its service area covers the place)
        if any(loc.active for loc in s.locations)
        or any(a.street is None and a.district in (None, "越秀区") for a in s.service_areas)
    ]
    assert data["total_items"] == sum(verdict_a(s) != INELIGIBLE for s in located)
    assert data["hidden_ineligible"] == sum(verdict_a(s) == INELIGIBLE for s in located)


def test_without_facts_hiding_hides_nothing(seeded_client):
    plain = api(seeded_client, q="就业")
    hiding = api(seeded_client, q="就业", hide_ineligible="1")
    assert plain["total_items"] == hiding["total_items"] and hiding["hidden_ineligible"] is None


def test_bad_facts_get_a_clear_message_not_an_error(seeded_client):
    for facts, words in [
        ({"f_age": "abc"}, "年龄"),
        ({"f_age": "300"}, "年龄"),
        ({"f_youngest_child_age": "x"}, "最小子女"),
    ]:
        page = seeded_client.get("/search", query_string={"q": "就业", **facts})
        assert page.status_code == 400
        text = page.get_data(as_text=True)
        assert "请更正案主情况" in text and words in text
        assert f'value="{next(iter(facts.values()))}"' in text  # what was typed is kept
    response = seeded_client.get("/api/v1/search", query_string={"q": "就业", "f_age": "300"})
    assert response.status_code == 400
    assert response.get_json()["error"]["parameter"] == "f_age"
    response = seeded_client.get("/api/v1/search", query_string={"q": "就业", "f_sex": "x"})
    assert response.status_code == 400 and response.get_json()["error"]["parameter"] == "f_sex"


def test_an_empty_result_offers_to_show_ineligible_services(seeded_client):
    page = seeded_client.get("/search", query_string={"q": "保安员招聘", **CLIENT_A, "hide_ineligible": "1"}).get_data(
        as_text=True
    )
    assert "也显示案主不符合条件的服务" in page


def test_a_rule_change_reaches_the_index_at_once(seeded_client, make_user):
    service = service_named("个体心理咨询（公益名额）")
    staff = make_user("agency_staff", organization_id=service.organization_id)
    login(seeded_client, staff.username)
    form = {
        "version": str(service.version),
        "eligibility_description": service.eligibility_description,
        "rules-0-criterion": "sex",
        "rules-0-exclude": "0",
        "rules-0-sex": "male",
        "action": "save",
    }
    assert post(seeded_client, f"/manage/services/{service.id}/eligibility", form).status_code == 302
    data = api(seeded_client, q="就业", per_page=100, hide_ineligible=1, **CLIENT_A)
    assert service.id not in {item["service_id"] for item in data["contents"]}


def test_service_page_shows_rules_in_plain_words_and_a_verdict_for_given_facts(seeded_client):
    service = service_named("保安员招聘")
    page = seeded_client.get(f"/services/{service.id}").get_data(as_text=True)
    assert service.eligibility_description in page  # the free text stays
    assert "18 至 55 岁" in page  # and so do the HSDS ages
    required = page[page.index("rules-required") : page.index("rules-excluded")]
    assert "年龄 18–55 岁" in required
    excluded = page[page.index("rules-excluded") :]
    assert "不接受使用阿片类物质、兴奋剂类物质或其他毒品者" in excluded.split("</ul>")[0]
    assert "verdict-block" not in page

    checked = seeded_client.get(f"/services/{service.id}", query_string={"f_age": "27", "f_substances": "opioids"})
    page = checked.get_data(as_text=True)
    block = page[page.index("verdict-block") :]
    assert "不符合条件" in block
    assert "符合：年龄 18–55 岁" in block and "不符合：不接受使用阿片类物质、兴奋剂类物质或其他毒品者" in block
    assert "未知：请询问案主的戒毒康复状态" in block
    bad = seeded_client.get(f"/services/{service.id}", query_string={"f_age": "abc"})
    assert bad.status_code == 400 and "请更正案主情况" in bad.get_data(as_text=True)


def test_service_without_rules_says_so_for_a_client(seeded_client):
    service = db.session.scalars(select(Service).where(Service.status == "active").order_by(Service.name)).all()
    plain = next(s for s in service if not s.eligibility_rules)
    page = seeded_client.get(f"/services/{plain.id}", query_string={"f_age": "30"}).get_data(as_text=True)
    assert "符合条件" in page and "未列出结构化条件" in page


def test_a_broad_search_counts_what_is_shown_exactly_or_says_it_estimates(seeded_client, monkeypatch):
    """A keyword tier that stops at the page counts the matches unscored (exactly, up to COUNT_LIMIT
    documents; only those shown when hiding) or scales the estimate by the services per document and
    the share shown."""
    from directory.search import engine

    plain = api(seeded_client, q="服务", per_page=5)
    hiding = api(seeded_client, q="服务", per_page=5, hide_ineligible=1, **CLIENT_A)
    everything, _ = _all_pages(seeded_client, q="服务", per_page=100, hide_ineligible=1, **CLIENT_A)
    all_plain, _ = _all_pages(seeded_client, q="服务", per_page=100)
    assert not plain["total_is_estimate"] and plain["total_items"] == len(all_plain)  # counted, not guessed
    assert not hiding["total_is_estimate"] and hiding["total_items"] == len(everything)
    assert hiding["hidden_ineligible"] > 0
    monkeypatch.setattr(engine, "COUNT_LIMIT", 10)
    estimate = api(seeded_client, q="服务", per_page=5, hide_ineligible=1, **CLIENT_A)
    assert estimate["total_is_estimate"] and estimate["hidden_ineligible"] is None
    # Scaled from a sample of 10 documents, whose order depends on the database the index was built from.
    assert len(everything) * 0.25 < estimate["total_items"] < plain["total_items"]
