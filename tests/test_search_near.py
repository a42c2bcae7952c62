"""Near a place: places as people type them, service areas, the useful answer first, and ways out."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from directory.catalog.models import Service, ServiceArea
from directory.extensions import db
from directory.geo.areas import Area, AreaError, covering_keys, parse_area
from directory.geo.gazetteer import Gazetteer
from directory.models_base import id_from_key
from tests.test_geo import GAZETTEER_PATH

# A client in 海珠区 on community detox, using opioids (the demo's methadone clinics outside 海珠区 serve
# only their own district's residents).
CLIENT_HAIZHU = {
    "f_age": "45",
    "f_sex": "male",
    "f_district": "海珠区",
    "f_rehab_status": "community_detox",
    "f_substances": "opioids",
}


def api(client, **params):
    response = client.get("/api/v1/search", query_string=params)
    assert response.status_code == 200, response.get_data(as_text=True)
    return response.get_json()


def seed_id(key: str) -> str:
    return id_from_key("service", key)


# ---- places as people type them ----


@pytest.mark.parametrize("near", ["番禺区 市桥", "番禺区市桥", "市桥地铁站", "市桥站"])
def test_compound_places_and_stations_are_searched_near(seeded_client, near):
    data = api(seeded_client, q="美沙酮", near=near)
    assert data["place"]["name"] in ("市桥街道", "市桥站")
    assert data["contents"][0]["name"] == "美沙酮维持治疗门诊（市桥）"


def test_a_place_in_another_district_is_refused_with_where_it_is(seeded_client):
    response = seeded_client.get("/api/v1/search", query_string={"q": "美沙酮", "near": "越秀区 市桥"})
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["parameter"] == "near" and "番禺区" in error["message"]
    assert error["suggestions"] == ["市桥街道"]


def test_an_unknown_district_is_not_turned_into_a_real_one(seeded_client):
    response = seeded_client.get("/api/v1/search", query_string={"near": "火星区"})
    assert response.status_code == 400
    assert "越秀区" not in response.get_json()["error"]["suggestions"]
    page = seeded_client.get("/search", query_string={"near": "火星区"}).get_data(as_text=True)
    assert "“火星区”" in page and 'class="cards results"' not in page  # said, and no results near anywhere


# ---- service areas ----


def test_parse_area_reads_city_district_and_street():
    gaz = Gazetteer.from_path(GAZETTEER_PATH)
    assert parse_area("广州市", gaz) == Area()
    assert parse_area("番禺区", gaz) == Area("番禺区")
    assert parse_area("番禺区 市桥街道", gaz) == Area("番禺区", "市桥街道")
    assert parse_area("市桥", gaz).name == "番禺区 市桥街道"
    for bad in ("越秀区 市桥", "市桥站", "火星区", ""):
        with pytest.raises(AreaError):
            parse_area(bad, gaz)
    assert covering_keys("番禺区", "市桥街道") == ("city", "d:番禺区", "s:番禺区/市桥街道")
    assert covering_keys(None, None) == ("city",)


def test_a_district_wide_service_is_found_near_a_street_of_its_district(seeded_client):
    data = api(seeded_client, q="法律援助", near="番禺区 市桥")
    top = data["contents"][0]
    assert top["service_id"] == seed_id("s-panyu-legal-aid-application")
    assert top["covers_place"] is True and top["distance_km"] is None
    page = seeded_client.get("/search", query_string={"q": "法律援助", "near": "番禺区 市桥"}).get_data(as_text=True)
    assert "服务范围覆盖此地" in page


def test_a_district_wide_service_is_not_found_in_other_districts(seeded_client):
    ids = {item["service_id"] for item in api(seeded_client, q="法律援助", near="体育西路站", per_page=50)["contents"]}
    assert seed_id("s-tianhe-legal-aid-application") in ids
    assert seed_id("s-panyu-legal-aid-application") not in ids


def test_a_city_wide_service_covers_every_place(seeded_client):
    for near in ("从化区", "石牌村", "23.13,113.32"):
        items = api(seeded_client, q="人道救助", near=near)["contents"]
        assert items and items[0]["service_id"] == seed_id("s-gz-red-cross-humanitarian-aid"), near
        assert items[0]["covers_place"]


def test_a_street_area_covers_that_street_only(seeded_client):
    service = db.session.get(Service, seed_id("s-zengcheng-legal-aid-application"))
    service.service_areas = [ServiceArea(district="番禺区", street="沙头街道")]
    db.session.commit()
    assert service.id in {i["service_id"] for i in api(seeded_client, q="法律援助", near="沙头街道")["contents"]}
    for elsewhere in ("市桥街道", "番禺区"):  # the next street; the district as a whole
        assert service.id not in {i["service_id"] for i in api(seeded_client, q="法律援助", near=elsewhere)["contents"]}


def test_the_demo_district_services_without_an_address_have_areas(seeded_app):
    unlocated = [
        s
        for s in db.session.scalars(select(Service).where(Service.status == "active"))
        if not any(loc.latitude is not None for loc in s.locations)
    ]
    assert len(unlocated) >= 25
    assert all(s.service_areas for s in unlocated), [s.name for s in unlocated if not s.service_areas]


def test_the_service_page_shows_its_area(seeded_client):
    page = seeded_client.get(f"/services/{seed_id('s-panyu-legal-aid-application')}").get_data(as_text=True)
    assert "服务范围" in page and "番禺区" in page


# ---- the useful answer first ----


def test_nearer_services_with_the_same_words_rank_first(seeded_client):
    """Today's bug: the 8.9 km methadone clinic ranked above the 8.3 km one by a slightly higher score."""
    items = api(seeded_client, q="美沙酮", near="天河区", radius_km=10)["contents"]
    clinics = [i["distance_km"] for i in items if "methadone-clinic" in i["taxonomy_term_codes"]]
    assert len(clinics) >= 3
    assert clinics == sorted(clinics)


def test_eligible_services_rank_above_ineligible_ones(seeded_client):
    """Today's bug: a clinic the client may not use (another district's residents only) ranked first."""
    items = api(seeded_client, q="美沙酮", near="海珠区", radius_km=10, per_page=50, **CLIENT_HAIZHU)["contents"]
    statuses = [i["eligibility"]["status"] for i in items]
    assert "ineligible" in statuses and statuses[0] == "eligible"
    first_ineligible = statuses.index("ineligible")
    assert all(status == "ineligible" for status in statuses[first_ineligible:])


def test_result_cards_show_open_now_and_accepting(seeded_client):
    items = api(seeded_client, q="美沙酮", near="越秀区")["contents"]
    assert all(item["open_now"] in (True, False) for item in items)  # every clinic lists its hours
    page = seeded_client.get("/search", query_string={"q": "美沙酮", "near": "越秀区"}).get_data(as_text=True)
    assert "接收转介" in page
    assert "现在开放" in page or "现在休息" in page


def test_no_usable_service_offers_concrete_ways_out_with_counts(seeded_client):
    page = seeded_client.get(
        "/search", query_string={"q": "美沙酮", "near": "南沙区", "radius_km": "2", "accepting": "1"}
    ).get_data(as_text=True)
    assert "radius_km=10" in page and "扩大到 10 公里范围" in page
    wider = api(seeded_client, q="美沙酮", near="南沙区", radius_km=10, accepting=1)["total_items"]
    assert f"({wider} 项服务)" in page
    assert "包括暂停接收转介的" in page


def test_an_empty_search_says_what_to_type(seeded_client):
    page = seeded_client.get("/search").get_data(as_text=True)
    assert "例如" in page and "番禺区 市桥" in page and "q=%E7%BE%8E%E6%B2%99%E9%85%AE" in page


# ---- HSDS ----

SERVICE_ID = "9a7c3e10-0000-4000-8000-000000000001"
ORG_ID = "9a7c3e10-0000-4000-8000-000000000002"


def test_hsds_service_areas_are_imported_replaced_and_exported(app, tmp_path):
    from directory.api.hsds_export import service_dict
    from tests.hsds_reference import assert_valid, import_hsds_json, service_record

    areas = [
        {"id": "9a7c3e10-0000-4000-8000-0000000000a1", "name": "番禺区 市桥街道"},
        {"id": "9a7c3e10-0000-4000-8000-0000000000a2", "name": "Tianhe", "extent": "天河区", "extent_type": "text"},
        {"id": "9a7c3e10-0000-4000-8000-0000000000a3", "name": "All residents of MyCity"},
    ]
    report = import_hsds_json(tmp_path, [service_record(SERVICE_ID, ORG_ID, service_areas=areas)])
    service = db.session.get(Service, SERVICE_ID)
    assert [a.area.name for a in service.service_areas] == ["番禺区 市桥街道", "天河区"]
    assert report.not_modelled["service_area"] == 1 and any("MyCity" in w for w in report.warnings)

    exported = service_dict(service, full=True)
    assert_valid(exported, "service")
    assert [(a["name"], a["extent_type"]) for a in exported["service_areas"]] == [
        ("番禺区 市桥街道", "text"),
        ("天河区", "text"),
    ]

    import_hsds_json(tmp_path, [service_record(SERVICE_ID, ORG_ID, service_areas=areas[1:2])], name="again.json")
    assert [a.area.name for a in db.session.get(Service, SERVICE_ID).service_areas] == ["天河区"]


def test_agency_staff_edit_a_service_area_and_search_follows(seeded_client, make_user):
    from tests.conftest import login, post
    from tests.test_search import _edit_form

    service = db.session.get(Service, seed_id("s-zengcheng-legal-aid-application"))
    staff = make_user("agency_staff", organization_id=service.organization_id)
    login(seeded_client, staff.username)
    url = f"/manage/services/{service.id}/edit"
    assert "增城区" in seeded_client.get(url).get_data(as_text=True)  # the form shows the area it has

    refused = post(seeded_client, url, {**_edit_form(service, service.name), "service_areas": "增城区\n火星区"})
    assert refused.status_code == 400 and "火星区" in refused.get_data(as_text=True)
    db.session.expire_all()
    assert [a.area.name for a in db.session.get(Service, service.id).service_areas] == ["增城区"]

    form = {**_edit_form(service, service.name), "service_areas": "增城区\n番禺区 沙头街道"}
    assert post(seeded_client, url, form).status_code == 302
    db.session.expire_all()
    assert [a.area.name for a in db.session.get(Service, service.id).service_areas] == ["增城区", "番禺区 沙头街道"]
    near = {i["service_id"]: i for i in api(seeded_client, q="法律援助", near="沙头街道")["contents"]}
    assert near[service.id]["covers_place"]


def test_a_district_filter_keeps_the_services_serving_that_district(seeded_client):
    ids = {i["service_id"] for i in api(seeded_client, q="法律援助", near="番禺区 市桥", district="番禺区")["contents"]}
    assert seed_id("s-panyu-legal-aid-application") in ids
    other = api(seeded_client, q="法律援助", near="番禺区 市桥", district="天河区")["contents"]
    assert seed_id("s-panyu-legal-aid-application") not in {i["service_id"] for i in other}
