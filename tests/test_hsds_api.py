"""The HSDS-shaped JSON API under /api/v1: every endpoint's output against the HSDS 3.0 schemas,
pagination, filters, places, 400s naming the parameter, the OpenAPI document, and no client data."""

from __future__ import annotations

import json
import math
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from directory.api.hsds_common import EXTENSION_BY_TERM_ID, EXTENSION_TAXONOMY_ID
from directory.api.routes import ENDPOINTS
from directory.catalog.models import (
    Location,
    Organization,
    Service,
    ServiceAtLocation,
    Taxonomy,
    TaxonomyTerm,
)
from directory.catalog.services import local_today, term_with_descendants
from directory.extensions import db
from directory.geo.distance import distance_km
from directory.geo.gazetteer import default_gazetteer
from directory.models_base import id_from_key, utcnow
from directory.referrals import services as referrals
from tests.hsds_reference import assert_valid, page_problems

LISTS = {
    "/services": "service",
    "/service_at_locations": "service_at_location",
    "/organizations": "organization",
    "/taxonomies": "taxonomy",
    "/taxonomy_terms": "taxonomy_term",
}
ITEMS = {
    "/services/{id}": ("service", Service),
    "/service_at_locations/{id}": ("service_at_location", ServiceAtLocation),
    "/organizations/{id}": ("organization", Organization),
    "/taxonomies/{id}": ("taxonomy", Taxonomy),
    "/taxonomy_terms/{id}": ("taxonomy_term", TaxonomyTerm),
}
MMT = id_from_key("service", "m-brain-hospital-mmt")


def get(client, path: str, status: int = 200, **params):
    response = client.get("/api/v1" + path, query_string=params)
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.mimetype == "application/json"
    return response.get_json()


def first_id(model) -> str:
    return db.session.scalar(select(model.id).order_by(model.id))


def test_every_endpoint_answers_in_hsds_shape(seeded_client):
    paths = {e.path for e in ENDPOINTS}
    assert paths == set(LISTS) | set(ITEMS) | {"/", "/openapi.json"}
    about = get(seeded_client, "/")
    assert about["version"] == "3.0" and about["openapi_url"].endswith("/api/v1/openapi.json")
    for path, schema in LISTS.items():
        data = get(seeded_client, path, per_page=100)
        assert not page_problems(data), (path, page_problems(data))
        assert data["contents"], path
        for item in data["contents"]:
            assert_valid(item, schema, f"{path} {item.get('id')}")
    for path, (schema, model) in ITEMS.items():
        for obj_id in db.session.scalars(select(model.id).order_by(model.id).limit(5)):
            assert_valid(get(seeded_client, path.format(id=obj_id)), schema, f"{path} {obj_id}")


def test_full_service_is_fully_nested(seeded_client):
    data = get(seeded_client, f"/services/{MMT}")
    service = db.session.get(Service, MMT)
    assert data["organization"]["id"] == service.organization_id
    assert {sal["location"]["id"] for sal in data["service_at_locations"]} == {loc.id for loc in service.locations}
    assert data["service_at_locations"][0]["location"]["addresses"][0]["region"] == service.locations[0].district
    assert len(data["schedules"]) == len(service.schedules) + len(service.schedule_exceptions)
    categories = [a["taxonomy_term"]["code"] for a in data["attributes"] if a["link_type"] == "service_category"]
    assert categories == [t.code for t in service.taxonomy_terms]
    extensions = {
        a["taxonomy_term"]["code"]: a["value"] for a in data["attributes"] if a["link_type"] == "lianjie_extension"
    }
    assert extensions["lianjie.service.accepting_referrals"] == "true"
    assert json.loads(extensions["lianjie.service.eligibility_rules"]) == service.eligibility_rules
    assert data["minimum_age"] == 18


def test_extension_taxonomy_and_terms_can_be_looked_up(seeded_client):
    assert get(seeded_client, f"/taxonomies/{EXTENSION_TAXONOMY_ID}")["name"] == "Lianjie extension fields"
    for term_id in EXTENSION_BY_TERM_ID:
        assert_valid(get(seeded_client, f"/taxonomy_terms/{term_id}"), "taxonomy_term")


def test_pagination_metadata(seeded_client):
    total = db.session.scalar(select(func.count()).select_from(Service))
    second = get(seeded_client, "/services", page=2, per_page=10)
    assert (second["total_items"], second["total_pages"], second["page_number"]) == (total, math.ceil(total / 10), 2)
    assert (second["size"], second["first_page"], second["last_page"], second["empty"]) == (10, False, False, False)
    first = get(seeded_client, "/services", page=1, per_page=10)
    assert first["first_page"] and not {s["id"] for s in first["contents"]} & {s["id"] for s in second["contents"]}
    last = get(seeded_client, "/services", page=math.ceil(total / 10), per_page=10)
    assert last["last_page"] and last["size"] == total - 10 * (math.ceil(total / 10) - 1)
    beyond = get(seeded_client, "/services", page=1000, per_page=10)
    assert beyond["empty"] and beyond["contents"] == [] and beyond["last_page"]
    everything = []
    for page in range(1, math.ceil(total / 100) + 1):
        everything += [s["id"] for s in get(seeded_client, "/services", page=page, per_page=100)["contents"]]
    assert sorted(everything) == sorted(db.session.scalars(select(Service.id)))


def test_service_filters(seeded_client):
    branch = db.session.scalar(select(TaxonomyTerm).filter_by(code="drug-treatment"))
    ids = set(term_with_descendants(branch))
    expected = {s.id for s in db.session.scalars(select(Service)) if {t.id for t in s.taxonomy_terms} & ids}
    data = get(seeded_client, "/services", taxonomy_term_id=branch.id, per_page=100)
    assert {s["id"] for s in data["contents"]} == expected and data["total_items"] == len(expected)
    assert MMT in expected  # a methadone clinic: in a sub-term of drug treatment

    org_id = db.session.get(Service, MMT).organization_id
    data = get(seeded_client, "/services", organization_id=org_id, per_page=100)
    assert {s["id"] for s in data["contents"]} == set(
        db.session.scalars(select(Service.id).where(Service.organization_id == org_id))
    )

    service = db.session.get(Service, MMT)
    service.last_modified = utcnow() + timedelta(days=30)
    db.session.commit()
    later = (utcnow() + timedelta(days=29)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert [s["id"] for s in get(seeded_client, "/services", modified_after=later)["contents"]] == [MMT]
    assert get(seeded_client, "/services", modified_after="2000-01-01")["total_items"] == db.session.scalar(
        select(func.count()).select_from(Service)
    )

    lianjie = db.session.scalar(select(Taxonomy.id))
    assert get(seeded_client, "/services", taxonomy_id=lianjie, per_page=1)["total_items"] > 200
    assert get(seeded_client, "/taxonomy_terms", parent_id=branch.id)["total_items"] == len(branch.children)


def test_service_search_uses_the_search_index(seeded_client):
    data = get(seeded_client, "/services", search="美沙酮", per_page=5)
    assert data["total_items"] >= 8
    methadone = db.session.scalar(select(TaxonomyTerm).filter_by(code="methadone-clinic"))
    for item in data["contents"]:
        assert methadone in db.session.get(Service, item["id"]).taxonomy_terms
    pinyin = get(seeded_client, "/services", search="meishatong", per_page=100)
    assert {s["id"] for s in pinyin["contents"]} >= {s["id"] for s in data["contents"]}
    org_id = db.session.get(Service, MMT).organization_id
    everywhere = get(seeded_client, "/services", search="美沙酮", per_page=100)["contents"]
    narrowed = get(seeded_client, "/services", search="美沙酮", organization_id=org_id, per_page=100)
    assert [s["id"] for s in narrowed["contents"]] == [s["id"] for s in everywhere if s["organization_id"] == org_id]
    assert MMT in {s["id"] for s in narrowed["contents"]}
    assert get(seeded_client, "/services", search="qqqqzzzz")["empty"]


def test_service_at_locations_near_a_place(seeded_client):
    place = default_gazetteer(seeded_client.application).lookup("体育西路站")
    data = get(seeded_client, "/service_at_locations", near="体育西路站", radius="3", per_page=100)
    expected = {}
    for sal in db.session.scalars(select(ServiceAtLocation)):
        loc = sal.location
        if loc.active and loc.latitude is not None:
            km = distance_km(place.latitude, place.longitude, loc.latitude, loc.longitude)
            if km <= 3:
                expected[sal.id] = km
    assert data["total_items"] == len(expected) > 0
    got = [item["id"] for item in data["contents"]]
    assert set(got) == set(expected)
    assert [expected[i] for i in got] == sorted(expected[i] for i in got)  # nearest first
    item = data["contents"][0]
    assert item["service"]["organization"]["id"] and item["location"]["addresses"][0]["city"] == "广州市"


def test_a_location_of_no_organization_is_served(seeded_client):
    """HSDS lets a location belong to no organization: it is served without organization_id, valid HSDS."""
    service = db.session.get(Service, MMT)
    lone = Location(name="市民服务中心（虚构）", district="越秀区", latitude=23.129, longitude=113.264)
    sal = ServiceAtLocation(location=lone)
    service.service_at_locations.append(sal)
    db.session.commit()
    item = get(seeded_client, f"/service_at_locations/{sal.id}")
    assert_valid(item, "service_at_location")
    assert item["location"]["id"] == lone.id and "organization_id" not in item["location"]
    full = get(seeded_client, f"/services/{MMT}")
    assert_valid(full, "service")
    assert lone.id in {s["location"]["id"] for s in full["service_at_locations"]}
    near = get(seeded_client, "/service_at_locations", near="23.129,113.264", radius="0.5", per_page=100)
    [found] = [i for i in near["contents"] if i["id"] == sal.id]
    assert_valid(found, "service_at_location")
    assert "organization_id" not in found["location"]
    listed = get(seeded_client, "/service_at_locations", organization_id=service.organization_id, per_page=100)
    assert sal.id in {i["id"] for i in listed["contents"]}  # the service's organization, not the location's
    org = get(seeded_client, f"/organizations/{service.organization_id}")
    assert lone.id not in {loc["id"] for loc in org["locations"]}


def test_service_at_locations_by_postcode(seeded_client):
    locations = db.session.scalars(select(Location).where(Location.district == "天河区").order_by(Location.id)).all()
    near, far = locations[0], db.session.scalar(select(Location).where(Location.district == "从化区"))
    near.postal_code = far.postal_code = None
    for loc in locations[:2]:
        loc.postal_code = "510620"
    db.session.commit()
    expected = set(
        db.session.scalars(
            select(ServiceAtLocation.id).where(ServiceAtLocation.location_id.in_([loc.id for loc in locations[:2]]))
        )
    )
    data = get(seeded_client, "/service_at_locations", postcode="510620", per_page=100)
    assert {i["id"] for i in data["contents"]} == expected
    lat = sum(loc.latitude for loc in locations[:2]) / 2
    lon = sum(loc.longitude for loc in locations[:2]) / 2
    within = get(seeded_client, "/service_at_locations", postcode="510620", proximity="2000", per_page=100)
    for item in within["contents"]:
        loc = item["location"]
        assert distance_km(lat, lon, loc["latitude"], loc["longitude"]) <= 2.0
    assert (
        expected <= {i["id"] for i in within["contents"]}
        or max(distance_km(lat, lon, loc.latitude, loc.longitude) for loc in locations[:2]) > 2.0
    )


@pytest.mark.parametrize(
    ("path", "params", "parameter"),
    [
        ("/services", {"page": "0"}, "page"),
        ("/services", {"page": "two"}, "page"),
        ("/services", {"per_page": "101"}, "per_page"),
        ("/services", {"taxonomy_term_id": "methadone"}, "taxonomy_term_id"),
        ("/services", {"organization_id": "1"}, "organization_id"),
        ("/services", {"modified_after": "yesterday"}, "modified_after"),
        ("/services", {"search": "x" * 201}, "search"),
        ("/services", {"near": "天河区"}, "near"),  # a parameter /services does not take
        ("/services", {"pagesize": "10"}, "pagesize"),
        ("/service_at_locations", {"radius": "3"}, "radius"),
        ("/service_at_locations", {"near": "天河区", "radius": "-1"}, "radius"),
        ("/service_at_locations", {"near": "天河区", "radius": "500"}, "radius"),
        ("/service_at_locations", {"near": "nowhere-at-all-xyz"}, "near"),
        ("/service_at_locations", {"near": "95,200"}, "near"),
        ("/service_at_locations", {"proximity": "500"}, "proximity"),
        ("/service_at_locations", {"postcode": "999999", "proximity": "500"}, "postcode"),
        ("/service_at_locations", {"near": "天河区", "postcode": "510620"}, "postcode"),
        ("/service_at_locations", {"proximity": "lots", "postcode": "510620"}, "proximity"),
        ("/organizations", {"per_page": "1.5"}, "per_page"),
        ("/taxonomy_terms", {"parent_id": "x"}, "parent_id"),
        ("/taxonomies", {"taxonomy_id": EXTENSION_TAXONOMY_ID}, "taxonomy_id"),
        ("/", {"page": "1"}, "page"),
    ],
)
def test_bad_parameters_get_400_naming_them(seeded_client, path, params, parameter):
    data = get(seeded_client, path, 400, **params)
    assert data["error"]["parameter"] == parameter
    assert data["error"]["message"]


def test_a_parameter_given_twice_is_refused(seeded_client):
    response = seeded_client.get("/api/v1/services?page=1&page=2")
    assert response.status_code == 400
    assert response.get_json()["error"] == {"parameter": "page", "message": "given more than once"}


@pytest.mark.parametrize("path", sorted(ITEMS))
def test_unknown_ids_get_404(seeded_client, path):
    for missing in ("00000000-0000-4000-8000-000000000000", "x" * 80):
        data = get(seeded_client, path.format(id=missing), 404)
        assert data["error"]["status"] == 404


def test_openapi_document_describes_what_is_served(seeded_client):
    doc = get(seeded_client, "/openapi.json")
    assert doc["openapi"].startswith("3.1") and doc["servers"] == [{"url": "/api/v1"}]
    served = set()
    for rule in seeded_client.application.url_map.iter_rules():
        if rule.rule.startswith("/api/v1") and rule.endpoint.startswith("api."):
            served.add(re.sub(r"<(?:\w+:)?(\w+)>", r"{\1}", rule.rule.removeprefix("/api/v1")) or "/")
    assert set(doc["paths"]) == served
    for endpoint in ENDPOINTS:
        operation = doc["paths"][endpoint.path]["get"]
        documented = [p["name"] for p in operation["parameters"] if p["in"] == "query"]
        assert documented == [p.name for p in endpoint.params]
        assert "200" in operation["responses"]
        assert ("400" in operation["responses"]) == bool(endpoint.params)
        assert ("404" in operation["responses"]) == endpoint.by_id
    assert get(seeded_client, "/")["openapi_url"].endswith("/api/v1/openapi.json")
    response = seeded_client.get("/api/v1/services")
    assert response.headers["Access-Control-Allow-Origin"] == "*"


def test_who_verified_a_listing_is_not_served(seeded_client):
    service = db.session.get(Service, MMT)
    service.assurer_email = "staff.member@example.org"
    db.session.commit()
    for path in (f"/services/{MMT}", "/services?per_page=100", "/service_at_locations?per_page=100"):
        assert "staff.member@example.org" not in seeded_client.get("/api/v1" + path).get_data(as_text=True)


def _all_api_responses(client) -> list[str]:
    """Every /api/v1 route (ours and the search), every page of every list, every record by id."""
    bodies = []
    for path in ["/", "/openapi.json", *LISTS]:
        page = 1
        while True:
            response = client.get(
                f"/api/v1{path}", query_string={"page": page, "per_page": 100} if path in LISTS else {}
            )
            assert response.status_code == 200
            bodies.append(response.get_data(as_text=True))
            data = response.get_json()
            if path not in LISTS or data["last_page"]:
                break
            page += 1
    for path, (_, model) in ITEMS.items():
        for obj_id in db.session.scalars(select(model.id)):
            bodies.append(client.get("/api/v1" + path.format(id=obj_id)).get_data(as_text=True))
    for params in ({"q": "美沙酮"}, {"near": "越秀区", "radius_km": "50", "per_page": "100"}):
        bodies.append(client.get("/api/v1/search", query_string=params).get_data(as_text=True))
    bodies.append(
        client.get(
            "/api/v1/service_at_locations", query_string={"near": "越秀区", "radius": "50", "per_page": "100"}
        ).get_data(as_text=True)
    )
    return bodies


def test_no_client_or_referral_data_is_exposed(seeded_app, seeded_client, make_user):
    owner = make_user("caseworker", username="cw-secret-owner")
    with seeded_app.test_request_context():  # placing the client's address uses the request's language
        client_record, need, referral = _client_with_referral(owner)
    db.session.commit()
    secrets = ["秘密客户甲乙", "020-0000-7777", "秘密街九十九号", "秘密目标", "cw-secret-owner"]
    secrets += [client_record.id, referral.id, need.id]
    for body in _all_api_responses(seeded_client):
        for secret in secrets:
            assert secret not in body and json.dumps(secret)[1:-1] not in body, secret


def _client_with_referral(owner):
    client_record = referrals.create_client(
        owner,
        {
            "display_name": "秘密客户甲乙",
            "birth_year": 1990,
            "sex": "female",
            "phone": "020-0000-7777",
            "district": "越秀区",
            "address": "秘密街九十九号",
        },
        {"substances": ["opioids"], "hiv_status": "positive"},
    )
    need = referrals.add_need(client_record, "methadone-clinic", "美沙酮维持治疗秘密目标", owner)
    service = db.session.get(Service, MMT)
    referrals.record_consent(
        client_record,
        {
            "organization_id": service.organization_id,
            "fields": ["name", "phone", "need"],
            "purpose": "referral",
            "valid_from": local_today() - timedelta(days=1),
        },
        owner,
        local_today(),
    )
    referral = referrals.create_referral(client_record, need, service, None, owner, local_today())
    return client_record, need, referral
