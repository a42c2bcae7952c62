"""Notifications in a real browser: the agency answers from the link in the e-mail that a real local SMTP
server received, without logging in; the caseworker sees the bell's count and the answer.

The server runs with SMTP pointed at an aiosmtpd server started here and sends after each commit (its
background sender), as in production; the demo agency user is given an e-mail address first."""

from __future__ import annotations

import re
import shutil
import sqlite3
from contextlib import closing
from dataclasses import replace

import pytest

from directory.models_base import id_from_key
from tests.browser.conftest import start_server
from tests.browser.test_journeys import BRAIN_HOSPITAL, CLIENT_A, METHADONE_KIND, begin, expect, menu
from tests.notify_servers import SmtpServer, email_text

AGENCY_EMAIL = "clinic@brain-hospital.test"
MMT_SERVICE = id_from_key("service", "m-brain-hospital-mmt")


@pytest.fixture
def mail_site(demo_site, tmp_path):
    """The demo site with SMTP configured and the demo agency user's e-mail address, served fresh."""
    smtp = SmtpServer().start()
    database = tmp_path / "site.sqlite3"
    shutil.copy(demo_site.database, database)
    with closing(sqlite3.connect(database)) as conn, conn:  # closed: its WAL goes into the file copied next
        conn.execute("UPDATE user SET email = ? WHERE username = 'demo-agency'", (AGENCY_EMAIL,))
        client_id = conn.execute("SELECT id FROM client WHERE seed_key = 'demo-client-a'").fetchone()[0]
    env = {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(smtp.port), "MAIL_FROM": "Lianjie <noreply@lianjie.test>"}
    server = start_server(replace(demo_site, database=database), tmp_path / "server", env=env)
    yield server.url, smtp, client_id
    server.stop()
    server.wait()
    smtp.stop()


def test_agency_answers_from_the_emailed_link_and_the_caseworker_sees_the_bell(browser, catalogue, mail_site):
    base_url, smtp, client_id = mail_site
    journey, page = begin(browser, base_url, catalogue, "notify-caseworker", "zh", "demo-caseworker")
    tr, see = journey.tr, expect()
    see(page.locator(".bell-count")).to_have_count(0)  # nothing unread yet

    # Client A's new need, and a referral to the brain hospital's methadone clinic (consent on record).
    menu(journey, page, "My clients")
    page.get_by_role("link", name=CLIENT_A).click()
    page.get_by_label(tr("Kind of help")).select_option(label=METHADONE_KIND["zh"])
    page.get_by_label(tr("Goal, in the client's words")).fill("美沙酮维持治疗，每天早上服药")
    page.get_by_role("button", name=tr("Add"), exact=True).click()
    page.goto(f"/referrals/new?service={MMT_SERVICE}&client={client_id}")
    need = page.get_by_label(tr("For which need"))
    need.select_option(label=need.locator("option", has_text="每天早上服药").inner_text())
    page.get_by_role("button", name=tr("Send the referral")).click()
    see(page.get_by_text(tr("The referral was made. Record each contact as it happens."))).to_be_visible()

    # The clinic's e-mail arrives (sent right after the commit) with its answer link.
    messages = smtp.wait_for(1)
    assert [m["To"] for m in messages] == [AGENCY_EMAIL]
    body = email_text(messages[0])
    assert CLIENT_A not in body  # no client data in the e-mail
    link = re.search(r"https?://\S+/answer/\S+", body).group(0)
    assert link.startswith(base_url)

    # The agency opens it in a browser of its own, not logged in: the consented fields, and the answer.
    agency = journey.open(browser, base_url)
    agency.goto(link)
    see(agency.get_by_role("heading", level=1)).to_contain_text("美沙酮")
    see(agency.locator("dl.facts")).to_contain_text(CLIENT_A)
    see(agency.locator("dl.facts")).to_contain_text("020-0000-9001")  # the phone: consented to this hospital
    see(agency.locator("dl.facts")).not_to_contain_text("北京路")  # the address: not consented
    journey.look(agency, "01-answer-link")
    agency.get_by_role("button", name=tr("Accept"), exact=True).click()
    see(agency.get_by_role("heading", level=1)).to_have_text(tr("Your answer was sent to the caseworker."))
    journey.look(agency, "02-answered")
    agency.goto(link)  # accepted: only "delivered" is left to answer
    see(agency.get_by_role("button", name=tr("Accept"), exact=True)).to_have_count(0)
    see(agency.get_by_role("button", name=tr("Service delivered"), exact=True)).to_be_visible()

    # The caseworker's bell counts the answer; it opens the referral, now accepted.
    page.reload()
    see(page.locator(".bell-count")).to_have_text("1")
    page.locator("a.bell").click()
    item = page.locator("li.notification.unread")
    see(item).to_have_count(1)
    see(item).to_contain_text(BRAIN_HOSPITAL)
    see(item).to_contain_text(tr("Accepted"))
    journey.look(page, "03-notifications")
    item.get_by_role("button", name=tr("View")).click()
    see(page.locator("p > .status")).to_have_text(tr("Accepted"))
    see(page.locator(".bell-count")).to_have_count(0)
    journey.finish()
