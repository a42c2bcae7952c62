"""The three journeys in a real browser, in Chinese and in English.

1. A caseworker finds a methadone clinic for client A near 天河, checks her eligibility, refers her,
   records the clinic's refusal, refers her to the next resource offered, the agency accepts, the need
   is met.
2. Agency staff update their clinic's hours and capacity and answer a referral in their inbox.
3. A manager opens the reports, sees the success rates and the persistence chart, exports a CSV.

Each runs on a fresh server; Chinese is driven at phone size (390×844), English at desktop size
(1280×800), and every key page is checked (language, untranslated words, labels, no sideways scrolling
at 390 px) and saved as a screenshot at both sizes under test-artifacts/screenshots/.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tests.browser.ui import (
    DEMO_PASSWORD,
    DESKTOP,
    PHONE,
    Journey,
    focus_is_visible,
    focused,
    long_date,
    long_date_pattern,
    tab_to,
)

LANGS = ["zh", "en"]
CLIENT_A = "阿芳（化名）"
CLIENT_B = "老周（化名）"
SKIN_INSTITUTE = "广州市皮肤病防治所"
SKIN_CLINIC = "美沙酮维持治疗门诊（越秀）"
# Search results and service pages show a listing's English name in English (i18n.local_name).
LISTED = {
    "zh": {SKIN_INSTITUTE: SKIN_INSTITUTE, SKIN_CLINIC: SKIN_CLINIC},
    "en": {
        SKIN_INSTITUTE: "Guangzhou Institute of Dermatology",
        SKIN_CLINIC: "Methadone maintenance treatment clinic, Yuexiu",
    },
}
BRAIN_HOSPITAL = "广州医科大学附属脑科医院"
# Words of the demo data (the taxonomy has a Chinese and an English name).
METHADONE_KIND = {"zh": "— 美沙酮门诊", "en": "— Methadone maintenance clinics"}


def today():
    return datetime.now(ZoneInfo("Asia/Shanghai")).date()


def expect():
    from playwright.sync_api import expect as playwright_expect

    return playwright_expect


def section(page, heading: str):
    """The page section under this heading."""
    return page.locator("section").filter(has=page.get_by_role("heading", name=heading, exact=True))


def begin(browser, base_url: str, catalogue, name: str, lang: str, username: str, **login) -> tuple[Journey, object]:
    """A journey in ``lang`` (Chinese at phone size, English at desktop size) and its user, logged in."""
    journey = Journey(name, lang, catalogue, PHONE if lang == "zh" else DESKTOP)
    page = journey.open(browser, base_url)
    log_in(journey, page, username, **login)
    return journey, page


def menu(journey: Journey, page, item: str) -> None:
    """Follow a link of the main menu."""
    page.get_by_role("navigation", name=journey.tr("Main")).get_by_role("link", name=journey.tr(item)).click()


def log_in(
    journey: Journey, page, username: str, *, check_keyboard: bool = False, switch: bool = True, step: str = ""
) -> None:
    """Log in with the keyboard only; in the English journeys, then press the language switch.

    ``step`` names the login page's screenshot; before logging in, the interface is Chinese."""
    page.goto("/login")
    if step:
        journey.look(page, step, lang="zh")
    if check_keyboard:
        page.keyboard.press("Tab")
        skip = focused(page)
        assert skip and skip["text"] == journey.catalogue.tr("Skip to content", "zh") and skip["onScreen"], skip
        if not focus_is_visible(skip):
            journey.problems.append(f"login: the skip link shows no focus outline: {skip}")
    field = tab_to(page, "#username")
    if check_keyboard and not focus_is_visible(field):
        journey.problems.append(f"login: the username field shows no focus outline: {field}")
    page.keyboard.type(username)
    page.keyboard.press("Tab")
    assert focused(page)["id"] == "password"
    page.keyboard.type(DEMO_PASSWORD)
    if check_keyboard:
        button = tab_to(page, "button[type=submit].primary", limit=3)
        if not focus_is_visible(button):
            journey.problems.append(f"login: the log-in button shows no focus outline: {button}")
    page.keyboard.press("Enter")
    expect()(page).not_to_have_url(re.compile(r"/login"))
    if journey.lang == "zh":  # the switch to English is in sight
        expect()(page.get_by_role("button", name="English")).to_be_visible()
    elif switch and page.evaluate("document.documentElement.lang") != "en":
        page.get_by_role("button", name="English").click()
        expect()(page.locator("html")).to_have_attribute("lang", "en")


@pytest.mark.parametrize("lang", LANGS)
def test_caseworker_refers_until_the_need_is_met(browser, live_server, catalogue, lang):
    journey, page = begin(
        browser, live_server, catalogue, "caseworker", lang, "demo-caseworker", check_keyboard=True, step="01-login"
    )
    tr, see = journey.tr, expect()
    journey.look(page, "02-home")

    # The client record: add the need agreed with client A.
    menu(journey, page, "My clients")
    page.get_by_role("link", name=CLIENT_A).click()
    see(page.get_by_role("heading", level=1)).to_have_text(CLIENT_A)
    page.get_by_label(tr("Kind of help")).select_option(label=METHADONE_KIND[lang])
    page.get_by_label(tr("Goal, in the client's words")).fill("美沙酮维持治疗，稳住戒断")
    journey.look(page, "03-client")
    page.get_by_role("button", name=tr("Add"), exact=True).click()
    see(page.get_by_text(tr("The need was added. Here are services that may help."))).to_be_visible()
    journey.look(page, "04-need")

    # Search for the need: 美沙酮 near 天河, within 10 km.
    page.get_by_role("link", name=tr("Search for more")).click()
    see(page.locator(".client-context")).to_contain_text(CLIENT_A)
    page.get_by_label(tr("What")).fill("美沙酮")
    page.get_by_label(tr("Near")).fill("天河")
    if not page.get_by_label(tr("Radius (km)")).is_visible():
        page.get_by_text(tr("Filters"), exact=True).click()
    page.get_by_label(tr("Radius (km)")).fill("10")
    page.get_by_role("button", name=tr("Search"), exact=True).click()
    results = page.locator("ol.results > li")
    see(results.first).to_be_visible()
    see(page.locator(".result-count")).to_contain_text(tr("within %(km)s km of %(place)s", km="10", place="天河区"))
    clinic = results.filter(has_text=LISTED[lang][SKIN_INSTITUTE])
    unit = tr("%(km)s km", km="").strip()  # 公里 / km
    see(clinic.locator(".distance")).to_have_text(re.compile(r"^\d+\.\d " + re.escape(unit) + "$"))
    see(clinic.locator(".verdict")).to_contain_text(tr("Eligible"))
    journey.look(page, "05-search")

    # Open the result, then come back and refer.
    clinic.get_by_role("heading").get_by_role("link").click()
    see(page.get_by_role("heading", level=1)).to_have_text(LISTED[lang][SKIN_CLINIC])
    see(page.locator("#eligibility")).to_contain_text(tr("Requirements"))
    journey.look(page, "06-service")
    page.go_back()
    results.filter(has_text=LISTED[lang][SKIN_INSTITUTE]).get_by_role("link", name=tr("Refer"), exact=True).click()

    # The referral form: her eligibility line by line; no consent for this organization yet.
    see(page.get_by_role("heading", level=1)).to_contain_text(SKIN_CLINIC)
    verdict = page.locator(".verdict-block")
    see(verdict).to_contain_text(tr("For this client"))
    see(verdict.locator(".verdict-eligible")).to_have_text(tr("Eligible"))
    see(verdict.locator(".verdict-lines li")).to_have_count(2)  # age 18 and over; uses opioids
    warning = page.locator(".alert-warning")
    see(warning).to_contain_text(
        tr(
            "No valid consent covers this organization. The referral cannot be sent until the client agrees to "
            "share information with it."
        )
    )
    journey.look(page, "07-refer-no-consent")
    warning.get_by_role("link", name=tr("Record consent")).click()

    # Record her consent, as she gives it, including her drug use (the clinic needs it).
    see(page.get_by_role("heading", level=1)).to_have_text(tr("Record consent"))
    see(page.get_by_label(tr("Organization"), exact=True).locator("option:checked")).to_have_text(SKIN_INSTITUTE)
    page.get_by_label(tr("Drug use and rehabilitation status (sensitive)")).check()
    journey.look(page, "08-consent")
    page.get_by_role("button", name=tr("Record consent")).click()
    see(page.get_by_text(tr("The consent was recorded."))).to_be_visible()
    consent_note = page.locator(".referral-check .notice")
    see(consent_note).to_contain_text(long_date(today(), lang))
    page.get_by_role("button", name=tr("Send the referral")).click()
    see(page.get_by_text(tr("The referral was made. Record each contact as it happens."))).to_be_visible()
    see(page.locator(".status")).to_have_text(tr("Referred, not yet contacted"))
    journey.look(page, "09-referral")

    # The clinic refuses: it has no room.
    page.get_by_label(tr("What happened")).select_option(label=tr("Refused"))
    page.get_by_label(tr("Who refused")).select_option(label=tr("The provider"))
    page.get_by_label(tr("Reason for the refusal")).select_option(label=tr("No capacity"))
    page.get_by_label(tr("Note"), exact=True).fill("门诊说新入组已满，至少排队一个月。")
    page.get_by_role("button", name=tr("Save the attempt")).click()
    see(page.get_by_text(tr("Refusal recorded. Don't give up: the next resources to try are below."))).to_be_visible()
    see(page.locator("p > .status")).to_have_text(tr("Refused"))
    see(page.locator("table.attempts")).to_contain_text(tr("No capacity"))
    alternatives = page.locator(".alternatives")
    see(alternatives.get_by_role("heading", name=tr("Next resources to try"))).to_be_visible()
    offered = alternatives.locator("li.card").first
    see(offered).to_contain_text(BRAIN_HOSPITAL)
    see(offered.locator(".verdict-eligible")).to_be_visible()
    if journey.viewport is PHONE:  # after a refusal, the next resources start on the first screen
        page.evaluate("window.scrollTo(0, 0)")
        top = alternatives.get_by_role("heading", name=tr("Next resources to try")).bounding_box()["y"]
        assert top < PHONE["height"], f"the next resources start {top:.0f} px down, below the first screen"
    journey.look(page, "10-refused")

    # The next resource offered: the brain hospital's methadone clinic (consent on record already).
    offered.get_by_role("link", name=tr("Refer"), exact=True).click()
    see(page.locator(".referral-check .notice")).to_contain_text(long_date(today() - timedelta(days=60), lang))
    page.get_by_role("button", name=tr("Send the referral")).click()
    see(page.get_by_text(tr("The referral was made. Record each contact as it happens."))).to_be_visible()
    journey.look(page, "11-second-referral")

    # The agency (the brain hospital's methadone clinic) accepts it from its inbox.
    agency = journey.open(browser, live_server)
    log_in(journey, agency, "demo-agency")
    menu(journey, agency, "Referral inbox")
    row = agency.locator("tbody tr").filter(has_text=CLIENT_A)
    see(row).to_contain_text(long_date(today(), lang))
    see(row).to_contain_text(tr("Referred, not yet contacted"))
    journey.look(agency, "12-agency-inbox")
    row.get_by_role("link").click()
    see(agency.locator("dl.facts")).to_contain_text(CLIENT_A)
    journey.look(agency, "13-agency-referral")
    agency.get_by_role("button", name=tr("Accept"), exact=True).click()
    see(agency.get_by_text(tr("Your answer was sent to the caseworker."))).to_be_visible()
    see(agency.locator("tbody tr").filter(has_text=CLIENT_A)).to_contain_text(tr("Accepted"))

    # The caseworker sees the acceptance and closes the need as met.
    page.reload()
    see(page.locator("p > .status")).to_have_text(tr("Accepted"))
    see(page.locator("table.attempts")).to_contain_text(tr("Through Lianjie"))
    page.get_by_role("navigation", name=tr("Breadcrumbs")).get_by_role("link").last.click()
    page.get_by_label(tr("Met"), exact=True).check()
    page.get_by_label(tr("Note"), exact=True).fill("已在脑科医院美沙酮门诊入组，每日服药。")
    journey.look(page, "14-close-need")
    page.get_by_role("button", name=tr("Close the need")).click()
    see(page.get_by_text(tr("The need was closed."))).to_be_visible()
    need = page.locator(".need").filter(has_text="美沙酮维持治疗，稳住戒断")
    see(need.locator(".badge")).to_have_text(tr("Met"))
    journey.look(page, "15-need-met")
    menu(journey, page, "Follow-ups")  # the demo caseworker's queue: a table on a desktop, cards on a phone
    see(page.locator("table.referrals").first).to_be_visible()
    journey.look(page, "16-follow-ups")

    if lang == "en":  # the language is remembered for the user, not the browser
        again = journey.open(browser, live_server)
        again.goto("/login")
        see(again.locator("html")).to_have_attribute("lang", "zh-CN")
        log_in(journey, again, "demo-caseworker", switch=False)
        see(again.locator("html")).to_have_attribute("lang", "en")
    journey.finish()


@pytest.mark.parametrize("lang", LANGS)
def test_agency_updates_its_listing_and_answers_a_referral(browser, live_server, catalogue, lang):
    journey, page = begin(browser, live_server, catalogue, "agency", lang, "demo-agency")
    tr, see = journey.tr, expect()

    # Our listings: the brain hospital's services.
    menu(journey, page, "Our listings")
    see(page.get_by_role("heading", level=1)).to_have_text(BRAIN_HOSPITAL)
    clinic = page.locator("tbody tr").filter(has_text="美沙酮维持治疗门诊")
    journey.look(page, "01-dashboard")

    # Opening hours: on Sundays from 08:00, and no afternoon any more.
    clinic.get_by_role("link", name=tr("Hours"), exact=True).click()
    see(page.get_by_role("heading", level=1)).to_have_text(tr("Opening hours"))
    sunday = tr("Sunday")
    page.get_by_label(f"{sunday} {tr('opens')}").first.fill("08:00")
    page.get_by_label(f"{sunday} {tr('opens')}").nth(1).fill("")
    page.get_by_label(f"{sunday} {tr('closes')}").nth(1).fill("")
    journey.look(page, "02-hours")
    page.get_by_role("button", name=tr("Save hours")).click()
    see(page.get_by_text(tr("The opening hours were saved."))).to_be_visible()
    see(page.locator("table.hours tr").filter(has_text=sunday)).to_contain_text("08:00–11:30")
    see(page.locator("table.hours tr").filter(has_text=sunday)).not_to_contain_text("14:30")

    # Capacity: a note for caseworkers, still accepting referrals.
    page.locator(".actions").get_by_role("link", name=tr("Edit"), exact=True).click()
    see(page.get_by_label(tr("Accepting referrals now"))).to_be_checked()
    page.get_by_label(tr("Capacity or waiting list")).fill("本周新患者名额还剩 3 个，请先电话预约评估。")
    journey.look(page, "03-edit-service")
    page.get_by_role("button", name=tr("Save"), exact=True).click()
    see(page.get_by_text(tr("Your changes were saved."))).to_be_visible()
    see(section(page, tr("Referrals"))).to_contain_text("本周新患者名额还剩 3 个")
    page.get_by_role("button", name=tr("Still accurate")).click()
    see(page.get_by_text(tr("Marked as still accurate today."))).to_be_visible()
    see(section(page, tr("Last verified"))).to_contain_text(long_date(today(), lang))
    journey.look(page, "04-service")

    # The inbox: 老周's referral to the methadone clinic, sent a few days ago.
    menu(journey, page, "Referral inbox")
    row = page.locator("tbody tr").filter(has_text=CLIENT_B)
    see(row.locator("td").first).to_have_text(long_date_pattern(lang))
    see(row).to_contain_text(tr("Referred, not yet contacted"))
    journey.look(page, "05-inbox")
    row.get_by_role("link").click()
    see(page.locator("dl.facts")).to_contain_text(CLIENT_B)
    page.get_by_label(tr("Reason"), exact=True).select_option(label=tr("Documents missing"))
    page.get_by_label(tr("Note to the caseworker")).fill("请带身份证和解除强制隔离戒毒证明来门诊评估。")
    journey.look(page, "06-answer")
    page.get_by_role("button", name=tr("Decline"), exact=True).click()
    see(page.get_by_text(tr("Your answer was sent to the caseworker."))).to_be_visible()
    see(page.locator("tbody tr").filter(has_text=CLIENT_B)).to_contain_text(tr("Refused"))
    journey.look(page, "07-answered")
    journey.finish()


@pytest.mark.parametrize("lang", LANGS)
def test_manager_reads_the_reports_and_exports_csv(browser, live_server, catalogue, lang):
    journey, page = begin(browser, live_server, catalogue, "manager", lang, "demo-manager")
    tr, see = journey.tr, expect()

    menu(journey, page, "Reports")
    see(page.get_by_role("heading", level=1)).to_have_text(tr("Reports"))

    # Success rates: overall, then per resource (and organization, category …).
    # The demo has few referrals: a rate whose counts are under 5 shows "—" (the small-cell rule), and
    # every count is rounded to 5.
    overall = page.locator("#section-overall tr").filter(has_text=tr("Referral success rate"))
    see(overall).to_contain_text(re.compile(r"\d+\.\d%|—"))
    referrals = page.locator("#section-overall tbody tr").first  # the number of referrals
    see(referrals.locator("td").first).to_have_text(tr("Referrals"))
    see(referrals.locator("td").last).to_have_text(re.compile(r"^(\d*[05]|<5)$"))
    success = page.locator("#section-success")
    see(success.get_by_role("heading", level=2)).to_have_text(tr("Did the client get the service?"))
    rates = success.locator("table").first
    see(rates.locator("thead")).to_contain_text(tr("Success rate"))
    see(rates.locator("tbody tr").first).to_be_visible()
    # Persistence: the chart of success by attempt number.
    persistence = page.locator("#section-persistence")
    see(persistence.get_by_role("heading", level=2)).to_have_text(tr("Does persistence pay?"))
    chart = persistence.locator("svg").first
    see(chart).to_be_visible()
    assert chart.bounding_box()["width"] > 100
    journey.look(page, "01-reports")

    # Export the success rates as CSV.
    export = success.get_by_role("link", name=tr("Download CSV")).first
    with page.expect_download() as download_info:
        export.click()
    download = download_info.value
    assert download.suggested_filename.endswith(f"-{today().isoformat()}.csv"), download.suggested_filename
    with open(download.path(), encoding="utf-8-sig") as handle:
        lines = handle.read().splitlines()
    header = rates.locator("thead th").first.inner_text()
    assert len(lines) >= 2 and lines[0].startswith(header), lines[:3]
    journey.finish()
