"""Public catalog pages on the demo catalog."""

from datetime import datetime

from sqlalchemy import select

from directory.catalog.models import DISTRICTS, Organization, Service, TaxonomyTerm
from directory.catalog.services import is_open_now
from directory.extensions import db
from tests.conftest import post


def _methadone_service():
    return db.session.scalars(
        select(Service)
        .where(Service.taxonomy_terms.any(TaxonomyTerm.code == "methadone-clinic"), Service.status == "active")
        .order_by(Service.name)
    ).first()


def test_home_shows_search_taxonomy_and_districts(seeded_client):
    page = seeded_client.get("/").get_data(as_text=True)
    assert 'type="search"' in page
    assert "美沙酮门诊" in page and "法律援助" in page and "基金会" in page
    for district in DISTRICTS:
        assert district in page


def test_category_includes_subcategories_and_filters_by_district(seeded_client):
    page = seeded_client.get("/categories/drug-treatment").get_data(as_text=True)
    methadone = _methadone_service()
    assert methadone.name in page  # a methadone clinic is listed under its parent category
    district = methadone.locations[0].district
    filtered = seeded_client.get(f"/categories/methadone-clinic?district={district}").get_data(as_text=True)
    expected = db.session.scalars(
        select(Service).where(
            Service.status == "active",
            Service.taxonomy_terms.any(TaxonomyTerm.code == "methadone-clinic"),
        )
    ).all()
    for service in expected:
        in_district = any(loc.district == district for loc in service.locations)
        assert (f"/services/{service.id}" in filtered) == in_district


def test_lists_paginate(seeded_client):
    first = seeded_client.get("/categories/government").get_data(as_text=True)
    assert 'rel="next"' in first
    second = seeded_client.get("/categories/government?page=2").get_data(as_text=True)
    assert 'rel="prev"' in second
    assert seeded_client.get("/categories/government?page=abc").status_code == 200


def test_district_page(seeded_client):
    page = seeded_client.get("/districts/天河区").get_data(as_text=True)
    assert "天河区" in page and "/services/" in page
    assert seeded_client.get("/districts/深圳").status_code == 404


def test_service_page_shows_what_a_caseworker_needs(seeded_client):
    service = _methadone_service()
    page = seeded_client.get(f"/services/{service.id}").get_data(as_text=True)
    assert service.name in page and service.organization.name in page
    assert "示例数据" in page  # demo badge / notice
    assert service.eligibility_description in page
    for doc in service.required_documents:
        assert doc.document in page
    assert service.locations[0].district in page
    assert 'class="hours"' in page
    assert ('class="open"' in page) == is_open_now(service)


def test_open_now_badge_follows_the_clock(seeded_app):
    service = _methadone_service()
    assert is_open_now(service, datetime(2026, 11, 23, 3, 0)) is False  # 3 a.m. on a Monday
    periods = service.schedules
    assert periods, "methadone clinics list their hours"
    opens = min(p.opens_at for p in periods if "MO" in p.days)
    assert is_open_now(service, datetime(2026, 11, 23, opens.hour, opens.minute)) is True


def test_organization_page(seeded_client):
    org = db.session.scalars(select(Organization).where(Organization.name.contains("脑科医院"))).first()
    page = seeded_client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert org.name in page
    for service in org.services:
        if service.status == "active":
            assert service.name in page


def test_english_is_a_visible_switch(seeded_client):
    page = seeded_client.get("/").get_data(as_text=True)
    assert ">English<" in page
    post(seeded_client, "/language/en", {"next": "/"})
    page = seeded_client.get("/").get_data(as_text=True)
    assert "Browse by category" in page and "Methadone maintenance clinics" in page
    assert ">中文<" in page


def test_simple_search_finds_by_name(seeded_client):
    page = seeded_client.get("/search?q=美沙酮").get_data(as_text=True)
    assert _methadone_service().name in page
