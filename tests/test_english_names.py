"""The English UI shows a listing's English name (its HSDS alternate_name) and the districts' English
names: on service and organization pages, search result cards and the reports; the Chinese UI keeps
the Chinese names. One rule, ``i18n.local_name``."""

from __future__ import annotations

import re

from directory.catalog.models import Organization, Service
from directory.extensions import db
from directory.geo.districts import DISTRICT_NAMES_EN, DISTRICTS
from directory.i18n import district_name, local_name
from directory.models_base import id_from_key

SKIN_SERVICE = "m-skin-institute-mmt"
SKIN_EN = "Methadone maintenance treatment clinic, Yuexiu"
SKIN_ORG_EN = "Guangzhou Institute of Dermatology"


def english(client) -> None:
    with client.session_transaction() as session:
        session["lang"] = "en"


def test_local_name_prefers_the_english_name_in_english_only():
    assert local_name("美沙酮门诊", "Methadone clinic", "en") == "Methadone clinic"
    assert local_name("美沙酮门诊", "Methadone clinic", "zh") == "美沙酮门诊"
    assert local_name("美沙酮门诊", None, "en") == "美沙酮门诊"  # no English name: the name itself
    assert local_name("美沙酮门诊", "   ", "en") == "美沙酮门诊"
    assert district_name("天河区", "en") == "Tianhe District" and district_name("天河区", "zh") == "天河区"
    assert district_name("", "en") == "" and district_name("某区", "en") == "某区"
    assert set(DISTRICT_NAMES_EN) == set(DISTRICTS)


def test_service_and_organization_pages_in_english_and_chinese(seeded_app, seeded_client):
    service = db.session.get(Service, id_from_key("service", SKIN_SERVICE))
    org = db.session.get(Organization, service.organization_id)
    zh = seeded_client.get(f"/services/{service.id}").get_data(as_text=True)
    assert f"<h1>{service.name}</h1>" in zh and f'lang="en">{SKIN_EN}<' in zh
    english(seeded_client)
    en = seeded_client.get(f"/services/{service.id}").get_data(as_text=True)
    assert f"<h1>{SKIN_EN}</h1>" in en and f'lang="zh">{service.name}<' in en
    assert f">{SKIN_ORG_EN}</a>" in en and "Yuexiu District" in en
    page = seeded_client.get(f"/organizations/{org.id}").get_data(as_text=True)
    assert f"<h1>{SKIN_ORG_EN}</h1>" in page and f'lang="zh">{org.name}<' in page
    assert f">{SKIN_EN}</a></h3>" in page  # its service cards


def test_search_result_cards_in_english(seeded_client):
    english(seeded_client)
    page = seeded_client.get("/search?q=美沙酮&district=越秀区").get_data(as_text=True)
    cards = re.findall(r'<li class="card">(.*?)</li>', page, re.S)
    skin = next(card for card in cards if SKIN_EN in card)
    assert f'<p class="org">{SKIN_ORG_EN}</p>' in skin
    assert '<span class="district">Yuexiu District</span>' in skin
    assert "越秀区" not in "".join(cards)


def test_district_lists_and_pages_in_english(seeded_client):
    english(seeded_client)
    home = seeded_client.get("/").get_data(as_text=True)
    assert ">Tianhe District</a>" in home and ">天河区</a>" not in home
    district = seeded_client.get("/districts/天河区").get_data(as_text=True)
    assert "<h1>Tianhe District</h1>" in district
    search = seeded_client.get("/search?q=美沙酮").get_data(as_text=True)
    assert '<option value="天河区">Tianhe District</option>' in search  # the value stays the district
