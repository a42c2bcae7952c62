"""Search on the demo catalog: words in Chinese, English and pinyin, places, filters, index sync."""

from datetime import datetime

import pytest
from sqlalchemy import select
from whoosh.index import LockError

from directory.catalog.models import Location, Service, TaxonomyTerm
from directory.catalog.services import is_open_now, term_with_descendants
from directory.extensions import db
from directory.geo.distance import distance_km
from directory.geo.gazetteer import default_gazetteer
from directory.search.engine import SearchParams, closest_term, run_search
from directory.search.index import SearchIndex, get_index
from directory.search.services import synonyms
from tests.conftest import login, post


def api(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def is_methadone(item) -> bool:
    return "methadone-clinic" in item["taxonomy_term_codes"]


@pytest.mark.parametrize("q", ["美沙酮", "methadone", "meishatong", "MMT", "mst", "美沙酮门诊", "Methadone clinics"])
def test_methadone_clinics_come_first(seeded_client, q):
    data = api(seeded_client, q=q, per_page=8)
    assert data["total_items"] >= 8
    assert all(is_methadone(item) for item in data["contents"]), [i["name"] for i in data["contents"]]


def test_heart_surgery_fund_is_found(seeded_client):
    data = api(seeded_client, q="心脏病 手术 基金")
    assert "先心病" in data["contents"][0]["name"] or "心脏" in data["contents"][0]["name"]
    assert (
        "foundation" in data["contents"][0]["taxonomy_term_codes"]
        or "charity-fund" in data["contents"][0]["taxonomy_term_codes"]
    )


def test_taxonomy_ancestors_make_branch_words_match(seeded_client):
    data = api(seeded_client, q="医院", per_page=100)
    codes = {code for item in data["contents"] for code in item["taxonomy_term_codes"]}
    assert "hospital-psychiatric" in codes and "hospital-maternal-child" in codes


def test_synonyms_cross_languages(seeded_client):
    english = {i["service_id"] for i in api(seeded_client, q="legal aid", per_page=100)["contents"]}
    chinese = {i["service_id"] for i in api(seeded_client, q="法律援助", per_page=100)["contents"]}
    legal = set(
        db.session.scalars(select(Service.id).where(Service.taxonomy_terms.any(TaxonomyTerm.code == "legal-aid")))
    )
    assert legal <= english and legal <= chinese


def _expected_within(lat, lon, radius, service_filter=None):
    """Services with at least one active location within ``radius`` km (geodesic), nearest distance each."""
    best: dict[str, float] = {}
    for service in db.session.scalars(select(Service).where(Service.status == "active")):
        if service_filter and not service_filter(service):
            continue
        for loc in service.locations:
            if not loc.active:
                continue
            d = distance_km(lat, lon, loc.latitude, loc.longitude)
            if d <= radius and d < best.get(service.id, float("inf")):
                best[service.id] = d
    return best


def _covering(district: str | None) -> set[str]:
    """Active services whose area is the whole city or the whole ``district``."""
    return {
        s.id
        for s in db.session.scalars(select(Service).where(Service.status == "active"))
        if any(a.street is None and a.district in (None, district) for a in s.service_areas)
    }


def accepting_ids() -> set[str]:
    return set(db.session.scalars(select(Service.id).where(Service.accepting_referrals)))


def _located_items(data: dict) -> list[dict]:
    return [item for item in data["contents"] if not item["covers_place"]]


def test_radius_search_is_exact_and_nearest_first(seeded_client):
    place = default_gazetteer(seeded_client.application).lookup("体育西路站")
    data = api(seeded_client, near="体育西路站", radius_km=4, per_page=100)
    expected = _expected_within(place.latitude, place.longitude, 4)
    got = {item["service_id"]: item["distance_km"] for item in _located_items(data)}
    covering = {item["service_id"] for item in data["contents"] if item["covers_place"]}
    assert set(got) == set(expected)
    assert covering == _covering("天河区")  # the station is in 天河区: its district-wide and city-wide services
    assert data["total_items"] == len(expected) + len(covering) == len(data["contents"])
    for service_id, d in got.items():
        assert d == pytest.approx(expected[service_id], abs=0.001)
    distances = [item["distance_km"] for item in _located_items(data)]
    assert distances == sorted(distances)


def test_radius_edge_is_decided_by_geodesic_distance(seeded_client):
    place = default_gazetteer(seeded_client.application).lookup("天河区")
    locations = db.session.scalars(select(Location)).all()
    distances = sorted(distance_km(place.latitude, place.longitude, loc.latitude, loc.longitude) for loc in locations)
    edge = distances[10]  # a radius exactly at the 11th nearest location
    near = f"{place.latitude},{place.longitude}"
    inside = api(seeded_client, near=near, radius_km=edge, per_page=100)
    just_short = api(seeded_client, near=near, radius_km=edge - 0.0005, per_page=100)
    assert inside["total_items"] > just_short["total_items"] or inside["total_items"] == just_short["total_items"]
    assert max(i["distance_km"] for i in _located_items(inside)) <= edge + 1e-9
    assert all(i["distance_km"] <= edge - 0.0005 for i in _located_items(just_short))


def test_place_only_pages_continue_in_distance_order(seeded_client):
    first = api(seeded_client, near="越秀区", radius_km=15, per_page=10, page=1)
    second = api(seeded_client, near="越秀区", radius_km=15, per_page=10, page=2)
    distances = [i["distance_km"] for i in _located_items(first) + _located_items(second)]
    assert distances == sorted(distances)
    assert not {i["service_id"] for i in first["contents"]} & {i["service_id"] for i in second["contents"]}


def test_category_filter_includes_subcategories_exactly(seeded_client):
    branch = db.session.scalar(select(TaxonomyTerm).filter_by(code="drug-treatment"))
    ids = set(term_with_descendants(branch))
    expected = {
        s.id
        for s in db.session.scalars(select(Service).where(Service.status == "active"))
        if {t.id for t in s.taxonomy_terms} & ids
    }
    data = api(seeded_client, near="越秀区", radius_km=200, category="drug-treatment", per_page=100)
    located = {s for s in expected if db.session.get(Service, s).locations}
    assert {i["service_id"] for i in data["contents"]} == located


def test_district_and_accepting_filters_are_exact(seeded_client):
    data = api(seeded_client, q="服务", district="海珠区", accepting="1", per_page=100)
    for item in data["contents"]:
        service = db.session.get(Service, item["service_id"])
        assert service.accepting_referrals
        assert any(loc.district == "海珠区" for loc in service.locations)
    everything = api(seeded_client, near="海珠区", radius_km=200, district="海珠区", accepting="1", per_page=100)
    expected = {
        s.id
        for s in db.session.scalars(select(Service).where(Service.status == "active", Service.accepting_referrals))
        if any(loc.district == "海珠区" and loc.active for loc in s.locations)
    }
    # near a place in 海珠区, the services serving 海珠区 (or the whole city) pass the district filter too
    assert {i["service_id"] for i in everything["contents"]} == expected | (_covering("海珠区") & accepting_ids())


def test_open_now_filter_matches_the_hours(seeded_app):
    index = get_index(seeded_app)
    gaz = default_gazetteer(seeded_app)
    place = gaz.lookup("越秀区")
    from directory.geo.geocoder import GeoResult

    origin = GeoResult(query="越秀区", resolved=True, name="越秀区", latitude=place.latitude, longitude=place.longitude)
    for moment in (datetime(2026, 11, 23, 9, 30), datetime(2026, 11, 23, 3, 0), datetime(2027, 2, 8, 9, 30)):
        params = SearchParams(near="越秀区", radius_km=200, open_now=True, per_page=1000)
        result = run_search(params, search_index=index, synonyms=synonyms(), place=origin, now=moment)
        got = {h.service_id for h in result.hits}
        expected = {
            s.id
            for s in db.session.scalars(select(Service).where(Service.status == "active"))
            # located, or serving the whole city (the place is bare coordinates: no district known)
            if (s.locations or any(a.district is None for a in s.service_areas)) and is_open_now(s, moment)
        }
        assert got == expected, moment


def test_open_now_on_a_monthly_schedule_only_on_its_days(seeded_app):
    """A service open only on the first Monday of each month is "open now" then, and not on other Mondays
    (the index keeps the rule, so the filter needs no database query)."""
    from datetime import time

    from directory.catalog.models import Schedule

    service = db.session.scalars(
        select(Service).where(Service.status == "active", Service.service_at_locations.any()).order_by(Service.id)
    ).first()
    service.schedules = [Schedule(freq="MONTHLY", byday="1MO", opens_at=time(9), closes_at=time(12))]
    service.schedule_exceptions = []
    db.session.commit()
    index = get_index(seeded_app)
    index.catch_up()
    for moment, expected in (
        (datetime(2026, 11, 2, 10, 0), True),  # the first Monday of November
        (datetime(2026, 11, 9, 10, 0), False),
        (datetime(2026, 12, 7, 11, 59), True),
        (datetime(2026, 12, 7, 12, 0), False),
    ):
        assert is_open_now(service, moment) is expected
        params = SearchParams(open_now=True, per_page=1000)
        result = run_search(params, search_index=index, synonyms=synonyms(), place=None, now=moment)
        assert (service.id in {h.service_id for h in result.hits}) is expected, moment


def test_misspelling_gets_a_suggestion(seeded_client):
    data = api(seeded_client, q="metadone")
    assert data["suggestion"] == "methadone"
    assert data["corrected_from"] == "metadone" and all(is_methadone(i) for i in data["contents"][:5])
    page = seeded_client.get("/search", query_string={"q": "美沙同"}).get_data(as_text=True)
    assert "美沙酮" in page
    pinyin = api(seeded_client, q="meishatogn")  # a pinyin typo is corrected from the pinyin keys
    assert pinyin["suggestion"] == "meishatong" and all(is_methadone(i) for i in pinyin["contents"][:3])


def test_the_closest_term_is_the_nearest_then_the_most_frequent(tmp_path):
    from whoosh import fields, index

    ix = index.create_in(tmp_path, fields.Schema(spell=fields.KEYWORD))
    with ix.writer() as writer:
        for words in ["shelter", "shelter", "shelters", "shelling", "sheltered sheltered sheltered", "helter"]:
            writer.add_document(spell=words)
    with ix.reader() as reader:
        assert closest_term(reader, "spell", "shleter", maxdist=2) == "shelter"  # one swap; frequent
        assert closest_term(reader, "spell", "shelterz", maxdist=1) == "shelter"  # shelters is as near, rarer
        assert closest_term(reader, "spell", "xhelter", maxdist=1) is None  # candidates share the first letter
        assert closest_term(reader, "spell", "shelter", maxdist=1) == "shelters"  # never the word itself
        assert closest_term(reader, "spell", "sh", maxdist=1) is None


def test_bad_parameters_get_a_400_naming_them(seeded_client):
    for params, name in [
        ({"radius_km": "abc"}, "radius_km"),
        ({"radius_km": "-3"}, "radius_km"),
        ({"page": "0"}, "page"),
        ({"per_page": "1000"}, "per_page"),
        ({"category": "nope"}, "category"),
        ({"district": "深圳"}, "district"),
        ({"open_now": "maybe"}, "open_now"),
        ({"sort": "price"}, "sort"),
        ({"near": "火星基地"}, "near"),
    ]:
        response = seeded_client.get("/api/v1/search", query_string=params)
        assert response.status_code == 400, params
        assert response.get_json()["error"]["parameter"] == name
    page = seeded_client.get("/search", query_string={"near": "火星基地"})
    assert page.status_code == 200 and "火星基地" in page.get_data(as_text=True)


def test_api_results_carry_what_other_tools_need(seeded_client):
    data = api(seeded_client, q="美沙酮", near="天河区", radius_km=10)
    item = data["contents"][0]
    assert set(item) >= {"service_id", "name", "taxonomy_term_codes", "latitude", "longitude", "distance_km"}
    assert item["distance_km"] is not None and item["latitude"] and item["longitude"]
    assert data["total_pages"] >= 1 and data["page"] == 1


def test_search_page_shows_results_with_distance_and_highlight(seeded_client):
    page = seeded_client.get("/search", query_string={"q": "美沙酮", "near": "天河"}).get_data(as_text=True)
    assert "<mark>美沙酮</mark>" in page
    assert "公里" in page  # each result shows its distance


def test_no_results_offers_to_widen(seeded_client):
    page = seeded_client.get(
        "/search", query_string={"q": "美沙酮", "near": "南沙区", "radius_km": "0.2", "accepting": "1"}
    ).get_data(as_text=True)
    assert "radius_km=10" in page  # widen the radius to 10 km, with its count
    assert "accepting" in page


def _edit_form(service, name: str) -> dict:
    """The agency edit form as a browser would send it, with a new name."""
    return {
        "version": str(service.version),
        "name": name,
        "description": service.description,
        "status": "active",
        "taxonomy_codes": [t.code for t in service.taxonomy_terms],
        "location_ids": [sal.location_id for sal in service.service_at_locations],
        "accepting_referrals": "y",
        "languages": ["zh"],
    }


def _agency_login(client, make_user, service):
    user = make_user("agency_staff", organization_id=service.organization_id)
    login(client, user.username)


def test_an_edit_is_searchable_at_once_and_deactivation_removes_it(seeded_client, make_user):
    service = db.session.scalars(select(Service).where(Service.name.contains("法律援助"))).first()
    _agency_login(seeded_client, make_user, service)
    response = post(seeded_client, f"/manage/services/{service.id}/edit", _edit_form(service, "夜间法律热线紫罗兰"))
    assert response.status_code == 302
    found = api(seeded_client, q="紫罗兰")["contents"]
    assert [i["service_id"] for i in found] == [service.id]
    post(seeded_client, f"/manage/services/{service.id}/deactivate")
    assert api(seeded_client, q="紫罗兰")["total_items"] == 0


def test_failed_index_write_keeps_the_change_and_catches_up(seeded_app, make_user):
    client = seeded_app.test_client()
    seeded_app.config["SEARCH_LOCK_TIMEOUT"] = 0.1
    service = db.session.scalars(select(Service).where(Service.name.contains("法律援助"))).first()
    _agency_login(client, make_user, service)
    index = SearchIndex(seeded_app.config["SEARCH_INDEX_DIR"])
    blocker = index.ix.writer()  # another process holding the index lock
    try:
        response = post(client, f"/manage/services/{service.id}/edit", _edit_form(service, "风信子法律服务"))
        assert response.status_code == 302  # the database write stands
        assert db.session.get(Service, service.id).name == "风信子法律服务"
        with pytest.raises(LockError):
            get_index(seeded_app).catch_up()
    finally:
        blocker.cancel()
    assert [i["service_id"] for i in api(client, q="风信子")["contents"]] == [service.id]  # caught up


def test_reindex_gives_the_same_results_as_incremental_indexing(seeded_app):
    client = seeded_app.test_client()
    queries = [{"q": "美沙酮"}, {"q": "shelter"}, {"near": "海珠区", "radius_km": 6}, {"q": "心理", "near": "番禺区"}]
    before = [api(client, per_page=100, **q)["contents"] for q in queries]
    result = seeded_app.test_cli_runner().invoke(args=["reindex"])
    assert result.exit_code == 0 and "Indexed" in result.output
    after = [api(client, per_page=100, **q)["contents"] for q in queries]
    assert [[i["service_id"] for i in r] for r in after] == [[i["service_id"] for i in r] for r in before]
    check = seeded_app.test_cli_runner().invoke(args=["search-check"])
    assert check.exit_code == 0 and "0 missing, 0 extra" in check.output


def test_deleted_documents_in_a_segment_never_show(seeded_app):
    """A replaced document stays in its segment, marked deleted, until a merge: search must skip it."""
    client = seeded_app.test_client()
    target = api(client, near="越秀区", radius_km=3)["contents"][0]
    writer = get_index(seeded_app).ix.writer()
    writer.delete_by_term("service_id", target["service_id"])
    writer.commit(merge=False)
    with get_index(seeded_app).searcher() as searcher:
        assert searcher.reader().has_deletions()
    after = api(client, near="越秀区", radius_km=3, per_page=100)
    assert target["service_id"] not in {i["service_id"] for i in after["contents"]}
    words = api(client, q=target["name"], near="越秀区", radius_km=3, per_page=100)
    assert target["service_id"] not in {i["service_id"] for i in words["contents"]}


def test_near_a_place_name_matches_rank_before_mentions(seeded_client):
    data = api(seeded_client, q="美沙酮", near="越秀区", radius_km=8, sort="relevance", per_page=100)
    flags = [is_methadone(item) for item in data["contents"]]
    assert any(flags) and not all(flags)  # clinics, and services that only mention methadone
    assert flags == sorted(flags, reverse=True)  # every clinic before every mention


def test_search_on_an_empty_catalog_finds_nothing_without_error(client):
    """A new installation has no services yet: its index has no segment at all."""
    for query in ({"q": "美沙酮"}, {"near": "越秀区"}, {"q": "戒毒", "near": "越秀区"}, {}):
        response = client.get("/api/v1/search", query_string=query)
        assert response.status_code == 200 and response.get_json()["total_items"] == 0, query
        assert client.get("/search", query_string=query).status_code == 200


def test_a_synonym_ranks_what_is_most_about_it_first(seeded_client):
    """'rehab' is not in these listings' text: its group (戒毒, detox …) is. Near a place, ranked by
    relevance, the services about drug rehabilitation come before those that mention it once."""
    data = api(seeded_client, q="rehab", near="越秀区", radius_km=5, sort="relevance")
    assert data["total_items"] > 8
    # About it: 戒毒 in the name, or a drug-treatment category (a methadone clinic); nearer first among them.
    about = {"anti-drug", "anti-drug-office", "methadone-clinic", "rehab-community", "drug-treatment"}
    top = data["contents"][:4]
    assert all("戒毒" in item["name"] or about & set(item["taxonomy_term_codes"]) for item in top), [
        i["name"] for i in top
    ]
