"""The list a client keeps, in a real browser: the caseworker prints client A's list and adds the QR code;
the link the QR code carries, opened by someone not logged in on a phone (390 px), shows the services and
none of client A's details."""

from __future__ import annotations

import re

from tests.browser.test_journeys import CLIENT_A, begin, expect, menu
from tests.browser.ui import PHONE

# Client A's details (seed_data/clients.yaml) that must never reach the public page.
CLIENT_A_DETAILS = [
    CLIENT_A,
    "阿芳",
    "020-0000-9001",
    "北京路",
    "1999",
    "找一份能兼顾照顾两个孩子的工作",
    "给两岁的小女儿找白天托育",
]


def test_the_client_opens_the_list_from_its_qr_link_and_sees_no_client_data(browser, live_server, catalogue):
    journey, page = begin(browser, live_server, catalogue, "client-list", "zh", "demo-caseworker")
    menu(journey, page, "My clients")
    page.get_by_role("link", name=CLIENT_A).first.click()
    page.get_by_role("link", name=journey.tr("Print resource list")).click()
    expect()(page.get_by_role("button", name=journey.tr("Print"))).to_be_visible()  # shown by its script
    names = [name.strip() for name in page.locator(".print-list h2").all_inner_texts()]
    assert names, "the printed list has services"
    page.get_by_role("button", name=journey.tr("Add a QR code and a link the client can keep")).click()
    qr = page.locator(".share-box .qr svg")
    expect()(qr).to_be_visible()
    link = page.locator(".share-link a").get_attribute("href")
    assert re.fullmatch(r"http://127\.0\.0\.1:\d+/l/[A-Za-z0-9_-]{24}", link), link
    journey.look(page, "01-printed-list")

    phone = journey.open(browser, live_server)  # another person, not logged in
    phone.set_viewport_size(PHONE)
    response = phone.goto(link)
    assert response.status == 200 and response.headers["referrer-policy"] == "no-referrer"
    for name in names:
        expect()(phone.get_by_role("heading", name=name, exact=True)).to_be_visible()
    text = phone.locator("body").inner_text()
    for detail in CLIENT_A_DETAILS:
        assert detail not in text, f"the public list shows {detail!r}"
    assert journey.tr("Navigate") in text
    maps = phone.get_by_role("link", name=journey.tr("Amap"))
    assert "uri.amap.com" in maps.first.get_attribute("href")
    journey.look(phone, "02-public-list")  # language, words translated, no sideways scrolling at 390 px
    journey.finish()
