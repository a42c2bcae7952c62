"""The main pages under load: what they cache (keyed on the search outbox), how many SQL statements they
make, and the search page's client situation form, drawn only when it is opened."""

from __future__ import annotations

import html
import re
from contextlib import contextmanager
from datetime import time, timedelta

from flask import current_app
from sqlalchemy import event, func, select

from directory import create_app
from directory.catalog.models import (
    Language,
    Location,
    Organization,
    Phone,
    RequiredDocument,
    Schedule,
    ScheduleException,
    Service,
    ServiceAtLocation,
    TaxonomyTerm,
)
from directory.catalog.outbox import SearchChange
from directory.catalog.services import local_today
from directory.extensions import db
from tests.conftest import IsolatedClient, make_config, post

WORD = "页面计数"  # in every service these tests add, and in no seed listing


@contextmanager
def counting():
    """The SQL statements the app sends while the block runs (transaction control left out)."""
    seen: list[str] = []

    def count(conn, cursor, statement, parameters, context, executemany):
        if statement.strip().upper() not in ("BEGIN", "COMMIT", "ROLLBACK"):
            seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", count)


def statements(client, path: str, **query) -> int:
    """Statements of one view of ``path``, once the caches are warm and the index caught up."""
    first = client.get(path, query_string=query)
    assert first.status_code == 200, (path, first.status_code)
    with counting() as seen:
        assert client.get(path, query_string=query).status_code == 200
    return len(seen)


def _term(code: str = "page-count") -> TaxonomyTerm:
    term = db.session.scalar(select(TaxonomyTerm).filter_by(code=code))
    if term is None:
        parent = db.session.scalar(select(TaxonomyTerm).filter_by(code="drug-treatment"))
        term = TaxonomyTerm(code=code, name=f"{WORD}类别", name_en="Page count", parent_id=parent.id, position=999)
        db.session.add(term)
        db.session.flush()
    return term


def add_services(org: Organization, count: int, extras: int = 1, district: str = "从化区") -> list[Service]:
    """``count`` services of ``org`` in the test category, each with ``extras`` locations, hours,
    holidays, languages, documents and phones."""
    term = _term()
    today = local_today()
    services = []
    for _ in range(count):
        n = db.session.scalar(select(func.count()).select_from(Service).where(Service.name.contains(WORD)))
        service = Service(organization_id=org.id, name=f"{WORD}服务{n:03d}", description=f"{WORD}的服务")
        service.taxonomy_terms.append(term)
        for i in range(extras):
            location = Location(
                organization_id=org.id, name=f"{WORD}站点{n}-{i}", district=district, latitude=23.55, longitude=113.58
            )
            service.service_at_locations.append(ServiceAtLocation(location=location))
            service.schedules.append(Schedule(byday="MO,TU", opens_at=time(9 + i % 3), closes_at=time(17)))
            start = today + timedelta(days=10 + i)
            service.schedule_exceptions.append(ScheduleException(starts_on=start, ends_on=start, closed=True))
            service.languages.append(Language(code=("zh", "en", "yue", "hak")[i % 4]))
            service.required_documents.append(RequiredDocument(document=f"证件{i}"))
            service.phones.append(Phone(number=f"020-8000{n:03d}{i}"))
        db.session.add(service)
        services.append(service)
    db.session.commit()
    return services


def test_statements_stay_constant_as_the_pages_show_more_rows(seeded_app, seeded_client):
    """No page makes a statement per row shown (no N+1): the counts with one row equal those with seven."""
    seeded_app.config["PER_PAGE"] = 500  # the category and district pages then show every row they have
    org = Organization(name=f"{WORD}机构", description="")
    db.session.add(org)
    db.session.commit()
    small = add_services(org, 1)[0]
    big = add_services(org, 1, extras=4)[0]
    code = _term().code
    pages = {
        "home": ("/", {}),
        "search": ("/search", {"q": WORD, "per_page": 100}),
        "search with a client's situation": ("/search", {"q": WORD, "per_page": 100, "f_age": "30"}),
        "search near a place": ("/search", {"near": "从化区", "q": WORD, "per_page": 100}),
        "category": (f"/categories/{code}", {}),
        "district": ("/districts/从化区", {}),
        "organization": (f"/organizations/{org.id}", {}),
    }
    before = {name: statements(seeded_client, path, **query) for name, (path, query) in pages.items()}
    shown_before = seeded_client.get(f"/organizations/{org.id}").get_data(as_text=True).count(f"{WORD}服务")
    add_services(org, 5, extras=2)
    after = {name: statements(seeded_client, path, **query) for name, (path, query) in pages.items()}
    shown_after = seeded_client.get(f"/organizations/{org.id}").get_data(as_text=True).count(f"{WORD}服务")
    assert shown_after > shown_before
    assert after == before
    # The service page: one location, period, holiday, language, document and phone, then four of each.
    assert statements(seeded_client, f"/services/{big.id}") == statements(seeded_client, f"/services/{small.id}")


def test_home_and_search_read_only_the_catalog_version_when_nothing_changed(seeded_client):
    for path, query in (("/", {}), ("/search", {"q": "就业"}), ("/search", {"q": "美沙酮", "near": "天河区"})):
        assert statements(seeded_client, path, **query) == 1, path  # the newest outbox id
    assert statements(seeded_client, "/api/v1/search", q="就业") == 1


def _district_count(page: str, district: str) -> int:
    match = re.search(rf">{district}</a> <span class=\"count\">(\d+)</span>", page)
    assert match, district
    return int(match.group(1))


def test_home_counts_follow_catalog_changes(seeded_client):
    home = seeded_client.get("/").get_data(as_text=True)
    before = _district_count(home, "从化区")
    org = Organization(name=f"{WORD}机构", description="")
    db.session.add(org)
    db.session.commit()
    service = add_services(org, 1)[0]
    assert _district_count(seeded_client.get("/").get_data(as_text=True), "从化区") == before + 1
    service.service_at_locations[0].location.active = False
    db.session.commit()
    assert _district_count(seeded_client.get("/").get_data(as_text=True), "从化区") == before


def _outbox_max() -> int:
    return db.session.scalar(select(func.max(SearchChange.id))) or 0


def _category_menu(page: str) -> list[tuple[str, bool, str]]:
    menu = re.search(r'<select id="category" name="category">(.*?)</select>', page, re.S)
    assert menu
    return [
        (value, bool(selected), html.unescape(label.strip()))
        for value, selected, label in re.findall(r'<option value="([^"]*)"( selected)?>([^<]*)</option>', menu.group(1))
    ]


def test_category_menu_lists_the_taxonomy_and_marks_the_choice(seeded_client):
    tops = db.session.scalars(
        select(TaxonomyTerm).where(TaxonomyTerm.parent_id.is_(None)).order_by(TaxonomyTerm.position)
    ).all()
    expected = [("", "全部类别")]
    for top in tops:
        expected.append((top.code, top.name))
        expected.extend((child.code, f"— {child.name}") for child in top.children)
    menu = _category_menu(seeded_client.get("/search").get_data(as_text=True))
    assert [(value, label) for value, _, label in menu] == expected
    assert not any(selected for _, selected, _ in menu)
    chosen = _category_menu(seeded_client.get("/search?category=methadone-clinic").get_data(as_text=True))
    assert [value for value, selected, _ in chosen if selected] == ["methadone-clinic"]
    post(seeded_client, "/language/en", {"next": "/"})
    english = _category_menu(seeded_client.get("/search").get_data(as_text=True))
    assert ("methadone-clinic", False, "— Methadone maintenance clinics") in english


def test_taxonomy_edits_reach_the_cached_pages(seeded_client):
    seeded_client.get("/")
    seeded_client.get("/search")  # the caches are warm
    term = db.session.scalar(select(TaxonomyTerm).filter_by(code="methadone-clinic"))
    latest = _outbox_max()
    term.name = "美沙酮维持治疗点"
    db.session.commit()
    assert _outbox_max() > latest
    menu = _category_menu(seeded_client.get("/search").get_data(as_text=True))
    assert ("methadone-clinic", False, "— 美沙酮维持治疗点") in menu
    assert "美沙酮维持治疗点" in seeded_client.get("/").get_data(as_text=True)
    results = seeded_client.get("/search", query_string={"category": "methadone-clinic"}).get_data(as_text=True)
    assert '<span class="tag">美沙酮维持治疗点</span>' in results
    assert "美沙酮维持治疗点" in seeded_client.get("/categories/methadone-clinic").get_data(as_text=True)

    # A new term that no service uses writes its own outbox row, so it reaches the menus too.
    latest = _outbox_max()
    db.session.add(TaxonomyTerm(code="page-cache-new", name="新设类别", name_en="New kind", position=1000))
    db.session.commit()
    assert _outbox_max() > latest
    assert ("page-cache-new", False, "新设类别") in _category_menu(seeded_client.get("/search").get_data(as_text=True))
    assert "新设类别" in seeded_client.get("/").get_data(as_text=True)
    assert seeded_client.get("/categories/page-cache-new").status_code == 200


def test_another_worker_sees_a_change_made_through_this_one(seeded_app, seeded_client, tmp_path):
    """Two apps on one database, as two worker processes or two servers: each caches on its own and
    both follow the outbox."""
    other = create_app(make_config(tmp_path / "other", seeded_app.config["SQLALCHEMY_DATABASE_URI"]))
    other.test_client_class = IsolatedClient
    other_client = other.test_client()
    try:
        before = _district_count(other_client.get("/").get_data(as_text=True), "从化区")
        assert _district_count(seeded_client.get("/").get_data(as_text=True), "从化区") == before
        org = Organization(name=f"{WORD}机构", description="")
        db.session.add(org)
        db.session.commit()
        add_services(org, 1)
        assert _district_count(other_client.get("/").get_data(as_text=True), "从化区") == before + 1
        assert _district_count(seeded_client.get("/").get_data(as_text=True), "从化区") == before + 1
    finally:
        with other.app_context():
            db.session.remove()
            db.engine.dispose()
        assert current_app._get_current_object() is seeded_app


FACT_NAME = re.compile(r'name="(f_[a-z_]+)"')


def test_the_closed_client_situation_form_is_drawn_only_when_opened(seeded_client):
    page = seeded_client.get("/search", query_string={"q": "就业"}).get_data(as_text=True)
    assert not FACT_NAME.search(page)
    assert 'data-fields-url="/search/client-situation"' in page
    assert "/static/js/search-facts.js" in page
    link = re.search(r'<p class="facts-later"><a href="([^"]+)">', page)
    assert link

    # Without scripts: the link reloads the same search with the form drawn, open.
    opened = seeded_client.get(html.unescape(link.group(1)))
    assert opened.status_code == 200
    drawn = opened.get_data(as_text=True)
    assert '<details class="facts-panel" id="facts" open>' in drawn
    assert 'value="就业"' in drawn  # the same search
    names = set(FACT_NAME.findall(drawn))
    assert {"f_age", "f_sex", "f_district", "f_substances", "f_documents"} <= names

    # With scripts: opening the panel fetches the same fields.
    fields = seeded_client.get("/search/client-situation")
    assert fields.status_code == 200
    assert set(FACT_NAME.findall(fields.get_data(as_text=True))) == names
    assert "<fieldset" in fields.get_data(as_text=True) and "<html" not in fields.get_data(as_text=True)

    # A situation given, or a wrong one, draws the form open with what was entered.
    given = seeded_client.get("/search", query_string={"q": "就业", "f_age": "27"}).get_data(as_text=True)
    assert '<details class="facts-panel" id="facts" open>' in given and 'value="27"' in given
    wrong = seeded_client.get("/search", query_string={"q": "就业", "f_age": "abc"})
    assert wrong.status_code == 400
    assert 'value="abc"' in wrong.get_data(as_text=True)


def test_the_kept_filters_panel_shows_each_search_its_own_values(seeded_client):
    """The filters panel is kept per language, catalog version and filter values: each search still
    sees its own values, and a wrong radius is marked on its own search only."""
    plain = seeded_client.get("/search", query_string={"q": "就业"}).get_data(as_text=True)
    assert '<details class="search-filters">' in plain and " selected>" not in plain.split("search-filters", 1)[1]
    chosen = {"q": "就业", "district": "海珠区", "language": "yue", "open_now": "1", "radius_km": "3"}
    chosen["sort"] = "distance"
    page = seeded_client.get("/search", query_string=chosen).get_data(as_text=True)
    assert '<details class="search-filters" open>' in page
    assert '<option value="海珠区" selected>' in page and '<option value="yue" selected>' in page
    assert '<option value="distance" selected>' in page and 'value="3"' in page
    assert 'name="open_now" value="1" checked' in page and 'name="accepting" value="1" checked' not in page
    wrong = seeded_client.get("/search", query_string={"q": "就业", "radius_km": "abc"})
    assert wrong.status_code == 400 and 'class="field has-error"' in wrong.get_data(as_text=True)
    again = seeded_client.get("/search", query_string={"q": "就业", "radius_km": "4"}).get_data(as_text=True)
    assert "has-error" not in again and 'value="4"' in again
    panel = re.compile(r'<details class="search-filters".*?</details>', re.S)
    later = seeded_client.get("/search", query_string={"q": "就业"}).get_data(as_text=True)
    assert panel.search(later).group(0) == panel.search(plain).group(0)


def test_a_lower_outbox_id_committed_after_a_higher_one_still_changes_the_version(seeded_client):
    """On PostgreSQL, ids come from a sequence when the row is inserted: a transaction can commit a lower
    id after a higher one is visible. Here a row with a higher id is written first (the sequence does not
    move); the rows of the change that follows then have lower ids on PostgreSQL (on SQLite, higher)."""
    db.session.add(SearchChange(id=_outbox_max() + 500, service_id="late-commit-test"))
    db.session.commit()
    before = _district_count(seeded_client.get("/").get_data(as_text=True), "从化区")
    org = Organization(name=f"{WORD}机构", description="")
    db.session.add(org)
    db.session.commit()
    add_services(org, 1)
    assert _district_count(seeded_client.get("/").get_data(as_text=True), "从化区") == before + 1


def test_the_kept_client_situation_fields_show_each_page_its_own_values(seeded_client):
    """The service page's client situation fields are kept per language, catalog version and values:
    one client's facts never show on a page asked with other facts, and an error is shown where made."""
    service = db.session.scalars(select(Service).where(Service.status == "active").order_by(Service.name)).first()
    url = f"/services/{service.id}"
    fields = re.compile(r'<div class="facts-grid">.*?</fieldset>\s*</fieldset>', re.S)

    def page(**facts) -> str:
        return seeded_client.get(url, query_string=facts).get_data(as_text=True)

    empty = page()
    first = page(f_age="27", f_district="越秀区", f_substances="opioids")
    opioids_checked = '<input checked id="f_substances-0"'
    assert 'value="27"' in first and '<option selected value="越秀区">' in first and opioids_checked in first
    other = page(f_age="64", f_district="海珠区")
    assert 'value="64"' in other and '<option selected value="海珠区">' in other
    assert 'value="27"' not in other and '<option selected value="越秀区">' not in other
    assert opioids_checked not in other
    wrong = seeded_client.get(url, query_string={"f_age": "abc"})
    assert wrong.status_code == 400 and 'value="abc"' in wrong.get_data(as_text=True)
    assert "has-error" in fields.search(wrong.get_data(as_text=True)).group(0)
    assert fields.search(page()).group(0) == fields.search(empty).group(0)
    assert fields.search(page(f_age="27", f_district="越秀区", f_substances="opioids")).group(0) == (
        fields.search(first).group(0)
    )
    post(seeded_client, "/language/en")
    english = fields.search(page()).group(0)
    assert ">Age</label>" in english and "年龄" not in english  # each language its own
