"""Contactable listings: phones and e-mail of services and locations, checked as people write them in
China, shown as tel:/mailto: links; the change history says values in words in both languages."""

from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import func, select

from directory.catalog.models import ChangeRecord, Location, Organization, Phone, Schedule, Service, ServiceAtLocation
from directory.extensions import db
from directory.phones import PhoneError, parse_phone
from directory.seed import SeedReport, load_taxonomy
from tests.conftest import SEED_DIR, login, post

SERVICE_FORM = {
    "name": "法律咨询",
    "description": "免费法律咨询",
    "status": "active",
    "taxonomy_codes": ["legal-aid"],
    "accepting_referrals": "y",
    "languages": ["zh"],
}


@pytest.mark.parametrize(
    ("typed", "kind", "shown", "tel"),
    [
        ("13800138000", "mobile", "138 0013 8000", "tel:13800138000"),
        ("+86 138-0013-8000", "mobile", "138 0013 8000", "tel:13800138000"),
        ("020-83456789", "landline", "020-83456789", "tel:02083456789"),
        ("(020) 8345 6789", "landline", "020-83456789", "tel:02083456789"),
        ("+86 20 83456789", "landline", "020-83456789", "tel:02083456789"),
        ("0757-8123456", "landline", "0757-8123456", "tel:07578123456"),
        ("020-83456789 转 801", "landline", "020-83456789 转 801", "tel:02083456789,801"),
        ("020-83456789-801", "landline", "020-83456789 转 801", "tel:02083456789,801"),
        ("020 83456789 ext. 12", "landline", "020-83456789 转 12", "tel:02083456789,12"),
        ("400-123-4567", "national", "400-123-4567", "tel:4001234567"),
        ("8008308888", "national", "800-830-8888", "tel:8008308888"),
        ("12345", "service", "12345", "tel:12345"),
    ],
)
def test_phone_numbers_as_people_write_them(typed, kind, shown, tel):
    phone = parse_phone(typed)
    assert (phone.kind, str(phone), phone.tel_uri) == (kind, shown, tel)


@pytest.mark.parametrize(
    ("typed", "why"),
    [
        ("83456789", "area_code"),
        ("020-1234", "unknown"),
        ("020-0000-1101", "landline"),
        ("138001380001", "unknown"),
        ("+1 212 555 1212", "foreign"),
        ("电话020", "characters"),
        ("", "empty"),
    ],
)
def test_numbers_that_cannot_be_dialled_are_refused_with_the_reason(typed, why):
    with pytest.raises(PhoneError) as error:
        parse_phone(typed)
    assert str(error.value) == why


@pytest.fixture
def listing(app):
    terms = load_taxonomy(SEED_DIR / "taxonomy.yaml", SeedReport())
    org = Organization(name="机构A", description="测试机构")
    loc = Location(organization=org, name="站点A", district="天河区", latitude=23.13, longitude=113.33)
    svc = Service(
        organization=org, name="服务A", description="测试", eligibility_rules=[], taxonomy_terms=[terms["legal-aid"]]
    )
    svc.service_at_locations.append(ServiceAtLocation(location=loc))
    svc.schedules.append(Schedule(byday="MO,TU,WE,TH,FR", opens_at=time(9), closes_at=time(17)))
    svc.phones.append(Phone(number="020-0000-1101", description="虚构号码"))  # as seeded: not a real number
    db.session.add_all([org, loc, svc])
    db.session.commit()
    return {"org": org.id, "loc": loc.id, "svc": svc.id}


def _changes(field: str) -> list[ChangeRecord]:
    return list(db.session.scalars(select(ChangeRecord).filter_by(field=field).order_by(ChangeRecord.id)))


def test_agency_staff_maintain_phones_and_email_shown_as_links(client, listing, make_user):
    staff = make_user("agency_staff", organization_id=listing["org"], username="wang")
    login(client, staff.username)
    form = client.get(f"/manage/services/{listing['svc']}/edit").get_data(as_text=True)
    assert "020-0000-1101 虚构号码" in form  # the stored number is in the form to edit

    phones = "020-0000-1101 虚构号码\n020 8345 6789 转 801 预约专线\n13800138000"
    data = {
        **SERVICE_FORM,
        "location_ids": [listing["loc"]],
        "version": "1",
        "phones": phones,
        "email": "help@example.org",
    }
    assert post(client, f"/manage/services/{listing['svc']}/edit", data).status_code == 302
    service = db.session.get(Service, listing["svc"])
    assert [(p.number, p.extension, p.description) for p in service.phones] == [
        ("020-0000-1101", None, "虚构号码"),  # left as stored: kept although it is no real number
        ("020-83456789", "801", "预约专线"),
        ("138 0013 8000", None, None),
    ]
    (change,) = _changes("phones")
    assert change.old_value == "020-0000-1101 虚构号码"
    assert change.new_value.endswith("020-83456789 转 801 预约专线\n138 0013 8000")

    location_form = {
        "name": "站点A",
        "district": "天河区",
        "latitude": "23.13",
        "longitude": "113.33",
        "version": "1",
        "phones": "400-123-4567 热线",
        "email": "site@example.org",
    }
    assert post(client, f"/manage/locations/{listing['loc']}/edit", location_form).status_code == 302
    location = db.session.get(Location, listing["loc"])
    assert location.email == "site@example.org" and [p.number for p in location.phones] == ["400-123-4567"]

    page = client.get(f"/services/{listing['svc']}").get_data(as_text=True)
    assert 'href="tel:02083456789,801"' in page and "转 801" in page
    assert 'href="tel:13800138000"' in page and 'href="tel:4001234567"' in page
    assert 'href="mailto:help@example.org"' in page and 'href="mailto:site@example.org"' in page


def test_a_number_that_cannot_be_dialled_keeps_the_form_and_saves_nothing(client, listing, make_user):
    staff = make_user("agency_staff", organization_id=listing["org"])
    login(client, staff.username)
    before = db.session.scalar(select(func.count()).select_from(ChangeRecord))
    data = {**SERVICE_FORM, "location_ids": [listing["loc"]], "version": "1", "phones": "8345 6789 值班\n13800138000"}
    response = post(client, f"/manage/services/{listing['svc']}/edit", data)
    body = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "8345 6789 值班：请加上区号" in body and "13800138000" in body  # the reason, and the input kept
    bad_email = post(
        client,
        f"/manage/locations/{listing['loc']}/edit",
        {
            "name": "站点A",
            "district": "天河区",
            "latitude": "23.13",
            "longitude": "113.33",
            "version": "1",
            "email": "not-an-email",
        },
    )
    assert bad_email.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(ChangeRecord)) == before
    assert [p.number for p in db.session.get(Service, listing["svc"]).phones] == ["020-0000-1101"]


def test_history_says_values_in_words_in_both_languages(client, listing, make_user):
    staff = make_user("agency_staff", organization_id=listing["org"])
    login(client, staff.username)
    data = {**SERVICE_FORM, "location_ids": [listing["loc"]], "version": "1", "phones": "020-0000-1101 虚构号码"}
    del data["accepting_referrals"]  # unticked: no longer accepting referrals
    assert post(client, f"/manage/services/{listing['svc']}/edit", data).status_code == 302
    hours = {
        "version": str(db.session.get(Service, listing["svc"]).version),
        **{f"{d}_1_opens": "07:00" for d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")},
        **{f"{d}_1_closes": "11:30" for d in ("MO", "TU", "WE", "TH", "FR", "SA", "SU")},
    }
    assert post(client, f"/manage/services/{listing['svc']}/hours", hours).status_code == 302

    page = client.get(f"/services/{listing['svc']}").get_data(as_text=True)
    history = page[page.index('class="history"') :]
    assert '<td class="old">是</td><td class="new">否</td>' in history
    assert '<td class="old">周一至周五 09:00–17:00</td><td class="new">每天 07:00–11:30</td>' in history
    for raw in (">true<", ">false<", "MO 09:00", "SA 07:00"):
        assert raw not in history

    post(client, "/language/en", {"next": "/"})
    english = client.get(f"/services/{listing['svc']}").get_data(as_text=True)
    history = english[english.index('class="history"') :]
    assert '<td class="old">Yes</td><td class="new">No</td>' in history
    assert '<td class="old">Mon–Fri 09:00–17:00</td><td class="new">Every day 07:00–11:30</td>' in history
