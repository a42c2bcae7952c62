"""The search page's client situation form, drawn only when opened: with scripts the fields are fetched
into the panel, without them the panel's link reloads the search with the form."""

from __future__ import annotations

import re

import pytest


@pytest.mark.parametrize("scripts", [True, False], ids=["with scripts", "without scripts"])
def test_the_client_situation_opens_and_checks_eligibility(browser, live_server, scripts):
    from playwright.sync_api import expect

    context = browser.new_context(base_url=live_server, java_script_enabled=scripts)
    page = context.new_page()
    errors: list[str] = []  # script errors, what the strict CSP refused, failed requests (but the favicon)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("console", lambda message: errors.append(message.text) if "Refused" in message.text else None)
    page.on(
        "response",
        lambda response: errors.append(f"{response.status} {response.url}")
        if response.status >= 400 and not response.url.endswith("/favicon.ico")
        else None,
    )
    try:
        page.goto("/search?q=美沙酮")
        expect(page.locator("ol.results > li").first).to_be_visible()
        expect(page.locator('[name="f_age"]')).to_have_count(0)  # not drawn while closed
        page.locator("details.facts-panel > summary").click()
        if scripts:
            expect(page.locator(".facts-later")).to_have_count(0)  # replaced by the fetched fields
        else:
            page.locator(".facts-later a").click()
        age = page.get_by_label("年龄", exact=True)
        expect(age).to_be_visible()
        age.fill("27")
        page.get_by_label("户籍").select_option("local")
        page.get_by_role("button", name="搜索", exact=True).click()
        expect(page).to_have_url(re.compile(r"f_age=27"))
        expect(page.locator("ol.results > li .verdict").first).to_be_visible()
        expect(page.get_by_label("年龄", exact=True)).to_have_value("27")
        expect(page.locator("details.facts-panel")).to_have_attribute("open", "")
        assert not errors, errors
    finally:
        context.close()
