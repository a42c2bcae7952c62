"""Agency-maintained listings: who may edit what, change history, validation, conflicts."""

from datetime import date, time

import pytest
from sqlalchemy import func, select

from directory.catalog.models import (
    ChangeRecord,
    Location,
    Organization,
    Schedule,
    ScheduleException,
    Service,
    ServiceAtLocation,
)
from directory.extensions import db
from directory.seed import SeedReport, load_taxonomy
from tests.conftest import SEED_DIR, login, post


@pytest.fixture
def catalog(app):
    """Two organizations, each with a location and a service; A's service has hours and a holiday."""
    terms = load_taxonomy(SEED_DIR / "taxonomy.yaml", SeedReport())
    objects = {}
    for key in ("a", "b"):
        org = Organization(name=f"机构{key.upper()}", description="测试机构")
        loc = Location(organization=org, name=f"站点{key.upper()}", district="天河区", latitude=23.13, longitude=113.33)
        svc = Service(
            organization=org,
            name=f"服务{key.upper()}",
            description="测试服务",
            eligibility_rules=[],
            taxonomy_terms=[terms["legal-aid"]],
        )
        svc.service_at_locations.append(ServiceAtLocation(location=loc))
        svc.schedules.append(Schedule(byday="MO,TU,WE,TH,FR", opens_at=time(9), closes_at=time(17)))
        db.session.add_all([org, loc, svc])
        objects[key] = (org, loc, svc)
    holiday = ScheduleException(service=objects["a"][2], starts_on=date(2027, 2, 6), ends_on=date(2027, 2, 12))
    db.session.add(holiday)
    db.session.commit()
    org, loc, svc = objects["a"]
    return {"org": org.id, "loc": loc.id, "svc": svc.id, "holiday": holiday.id, "org_b": objects["b"][0].id}


SERVICE_FORM = {
    "name": "新名称",
    "description": "新的描述",
    "status": "active",
    "taxonomy_codes": ["legal-aid"],
    "accepting_referrals": "y",
    "languages": ["zh"],
    "required_documents": "身份证\n户口本",
}


def _routes(ids):
    """(method, path, form) for every listing-edit route, aimed at organization A's objects."""
    service_form = {**SERVICE_FORM, "location_ids": [ids["loc"]]}
    location_form = {"name": "新站点", "district": "海珠区", "latitude": "23.10", "longitude": "113.30"}
    return [
        ("GET", "/manage/?organization=" + ids["org"], None),
        ("GET", f"/manage/organizations/{ids['org']}/services/new", None),
        ("POST", f"/manage/organizations/{ids['org']}/services/new", service_form),
        ("GET", f"/manage/services/{ids['svc']}/edit", None),
        ("POST", f"/manage/services/{ids['svc']}/edit", {**service_form, "version": "1"}),
        ("POST", f"/manage/services/{ids['svc']}/deactivate", {}),
        ("POST", f"/manage/services/{ids['svc']}/verify", {}),
        ("GET", f"/manage/services/{ids['svc']}/hours", None),
        (
            "POST",
            f"/manage/services/{ids['svc']}/hours",
            {"version": "1", "MO_1_opens": "08:00", "MO_1_closes": "12:00"},
        ),
        (
            "POST",
            f"/manage/services/{ids['svc']}/holidays",
            {"holiday-starts_on": "2027-10-01", "holiday-ends_on": "2027-10-07", "holiday-closed": "y"},
        ),
        ("POST", f"/manage/holidays/{ids['holiday']}/delete", {}),
        ("GET", f"/manage/organizations/{ids['org']}/locations/new", None),
        ("POST", f"/manage/organizations/{ids['org']}/locations/new", location_form),
        ("GET", f"/manage/locations/{ids['loc']}/edit", None),
        ("POST", f"/manage/locations/{ids['loc']}/edit", {**location_form, "version": "1"}),
        ("POST", f"/manage/locations/{ids['loc']}/deactivate", {}),
    ]


def _snapshot():
    """Everything a listing edit could change."""
    rows = []
    for model in (Organization, Location, Service, ServiceAtLocation, Schedule, ScheduleException, ChangeRecord):
        for obj in db.session.scalars(select(model)):
            rows.append(
                (model.__name__, tuple(sorted((k, repr(v)) for k, v in vars(obj).items() if not k.startswith("_"))))
            )
    return sorted(rows)


ROLES = ["anonymous", "caseworker", "manager", "agency_foreign", "agency_own", "admin"]


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("index", range(16))
def test_listing_edit_permissions(app, client, catalog, make_user, role, index):
    method, path, form = _routes(catalog)[index]
    if role != "anonymous":
        org = {"agency_own": catalog["org"], "agency_foreign": catalog["org_b"]}.get(role)
        user = make_user("agency_staff" if org else role, organization_id=org)
        login(client, user.username)
    before = _snapshot()
    response = client.get(path) if method == "GET" else post(client, path, form)

    if role == "anonymous":
        assert response.status_code == 302 and "/login" in response.headers["Location"]
        assert _snapshot() == before
    elif role in ("caseworker", "manager", "agency_foreign"):
        assert response.status_code == 403
        assert _snapshot() == before
    else:
        assert response.status_code in (200, 302), response.get_data(as_text=True)[:2000]
        if method == "POST":
            assert response.status_code == 302
            assert _snapshot() != before
            changes = db.session.scalars(select(ChangeRecord)).all()
            assert changes and all(c.user_id == user.id for c in changes)


def test_agency_staff_dashboard_shows_own_organization(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    page = client.get("/manage/").get_data(as_text=True)
    assert "机构A" in page and "服务A" in page and "服务B" not in page


def test_edit_records_change_history_shown_on_listing(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"], username="wang")
    login(client, user.username)
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"]], "version": "1", "capacity_note": "候补约两周"}
    assert post(client, f"/manage/services/{catalog['svc']}/edit", form).status_code == 302

    changes = {c.field: c for c in db.session.scalars(select(ChangeRecord))}
    assert changes["name"].old_value == "服务A" and changes["name"].new_value == "新名称"
    assert changes["capacity_note"].old_value is None and changes["capacity_note"].new_value == "候补约两周"
    assert changes["required_documents"].new_value == "身份证\n户口本"
    assert "status" not in changes  # unchanged fields are not recorded

    page = client.get(f"/services/{catalog['svc']}").get_data(as_text=True)
    assert "服务A" in page and "新名称" in page and "wang" in page


def test_hours_edit_records_old_and_new_hours(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    response = post(
        client,
        f"/manage/services/{catalog['svc']}/hours",
        {"version": "1", "SA_1_opens": "20:00", "SA_1_closes": "08:00"},
    )
    assert response.status_code == 302
    change = db.session.scalar(select(ChangeRecord).filter_by(field="hours"))
    assert change.old_value.startswith("MO 09:00–17:00")
    assert change.new_value == "SA 20:00–08:00"


def test_invalid_service_form_keeps_input_and_writes_nothing(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    before = _snapshot()
    form = {
        **SERVICE_FORM,
        "location_ids": [catalog["loc"]],
        "version": "1",
        "name": "",
        "minimum_age": "60",
        "maximum_age": "18",
        "capacity_note": "我输入的内容",
    }
    response = post(client, f"/manage/services/{catalog['svc']}/edit", form)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "我输入的内容" in page  # what the user typed is kept
    assert "最大年龄不能小于最小年龄" in page
    assert 'aria-invalid="true"' in page
    assert _snapshot() == before


def test_invalid_hours_keep_input_and_write_nothing(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    before = _snapshot()
    response = post(
        client,
        f"/manage/services/{catalog['svc']}/hours",
        {"version": "1", "MO_1_opens": "8点", "MO_1_closes": "12:00", "TU_1_opens": "09:00"},
    )
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert 'value="8点"' in page and 'value="09:00"' in page
    assert _snapshot() == before


def test_invalid_location_is_refused(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    before = _snapshot()
    response = post(
        client,
        f"/manage/organizations/{catalog['org']}/locations/new",
        {"name": "北京办事处", "district": "天河区", "latitude": "39.9", "longitude": "116.4"},
    )
    assert response.status_code == 400
    assert "北京办事处" in response.get_data(as_text=True)
    assert _snapshot() == before


def test_concurrent_edit_gets_a_conflict_not_a_silent_overwrite(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"]], "version": "1"}
    assert post(client, f"/manage/services/{catalog['svc']}/edit", {**form, "name": "第一次"}).status_code == 302
    # A second editor who loaded the form at version 1 saves afterwards.
    response = post(client, f"/manage/services/{catalog['svc']}/edit", {**form, "name": "第二次"})
    assert response.status_code == 409
    assert "第二次" in response.get_data(as_text=True)  # their input is kept to compare
    assert db.session.get(Service, catalog["svc"]).name == "第一次"


def test_verify_sets_last_verified_date(client, catalog, make_user):
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    post(client, f"/manage/services/{catalog['svc']}/verify")
    service = db.session.get(Service, catalog["svc"])
    assert service.assured_date is not None and not service.is_demo
    assert db.session.scalar(select(ChangeRecord).filter_by(action="verify")) is not None


def test_deactivated_service_leaves_public_lists(client, catalog, make_user):
    assert "服务A" in client.get("/categories/legal-aid").get_data(as_text=True)
    user = make_user("agency_staff", organization_id=catalog["org"])
    login(client, user.username)
    post(client, f"/manage/services/{catalog['svc']}/deactivate")
    post(client, "/logout")
    assert "服务A" not in client.get("/categories/legal-aid").get_data(as_text=True)
    assert client.get(f"/services/{catalog['svc']}").status_code == 404


def test_stale_listings_flagged_and_listed_for_admins(client, catalog, make_user):
    service = db.session.get(Service, catalog["svc"])
    service.assured_date = date(2020, 1, 1)
    other = db.session.scalars(select(Service).where(Service.id != catalog["svc"])).one()
    other.assured_date = date.today()
    db.session.commit()
    assert "超过12个月未核实" in client.get(f"/services/{catalog['svc']}").get_data(as_text=True)

    caseworker = make_user("caseworker")
    login(client, caseworker.username)
    assert client.get("/manage/stale").status_code == 403
    post(client, "/logout")
    admin = make_user("admin")
    login(client, admin.username)
    page = client.get("/manage/stale").get_data(as_text=True)
    assert "服务A" in page and "服务B" not in page
    assert db.session.scalar(select(func.count()).select_from(ChangeRecord)) == 0


# --- a location of no organization (HSDS allows it; only admins edit it) -------------------------


@pytest.fixture
def lone_location(catalog):
    """A location of no organization where organization A's service is also offered."""
    location = Location(name="市民服务中心", district="越秀区", latitude=23.129, longitude=113.264)
    service = db.session.get(Service, catalog["svc"])
    service.service_at_locations.append(ServiceAtLocation(location=location))
    db.session.commit()
    return location.id


def test_only_admins_edit_a_location_of_no_organization(client, catalog, lone_location, make_user):
    form = {
        "name": "市民服务中心（新）",
        "district": "越秀区",
        "latitude": "23.13",
        "longitude": "113.26",
        "version": "1",
    }
    for org in (catalog["org"], catalog["org_b"]):  # not even staff of an organization offering a service there
        staff = make_user("agency_staff", organization_id=org)
        login(client, staff.username)
        assert client.get(f"/manage/locations/{lone_location}/edit").status_code == 403
        assert post(client, f"/manage/locations/{lone_location}/edit", form).status_code == 403
        assert post(client, f"/manage/locations/{lone_location}/deactivate").status_code == 403
        post(client, "/logout")
    assert db.session.get(Location, lone_location).name == "市民服务中心"

    admin = make_user("admin")
    login(client, admin.username)
    page = client.get("/manage/").get_data(as_text=True)
    assert "市民服务中心" in page and f"/manage/locations/{lone_location}/edit" in page
    page = client.get(f"/manage/locations/{lone_location}/edit")
    assert page.status_code == 200 and "只有管理员" in page.get_data(as_text=True)
    response = post(client, f"/manage/locations/{lone_location}/edit", form)
    assert response.status_code == 302 and response.headers["Location"].endswith("/manage/")
    assert db.session.get(Location, lone_location).name == "市民服务中心（新）"
    change = db.session.scalar(select(ChangeRecord).filter_by(entity_id=lone_location, field="name"))
    assert change.organization_id is None and change.user_id == admin.id
    assert post(client, f"/manage/locations/{lone_location}/deactivate").status_code == 302
    assert db.session.get(Location, lone_location).active is False


def test_no_organization_is_nobody_s_organization():
    from types import SimpleNamespace

    from directory.accounts.permissions import can_edit_listing

    staff_without_org = SimpleNamespace(role="agency_staff", organization_id=None)
    assert can_edit_listing(staff_without_org, None) is False
    assert can_edit_listing(SimpleNamespace(role="agency_staff", organization_id="a"), None) is False
    assert can_edit_listing(SimpleNamespace(role="admin", organization_id=None), None) is True


def test_a_service_at_a_location_of_no_organization_keeps_working(client, catalog, lone_location, make_user):
    assert client.get(f"/services/{catalog['svc']}").status_code == 200
    staff = make_user("agency_staff", organization_id=catalog["org"])
    login(client, staff.username)
    page = client.get(f"/manage/services/{catalog['svc']}/edit").get_data(as_text=True)
    assert "市民服务中心" in page  # offered there: still a choice, ticked
    shown = str(db.session.get(Service, catalog["svc"]).version)  # 2: adding the place bumped it
    form = {**SERVICE_FORM, "location_ids": [catalog["loc"], lone_location], "version": shown}
    assert post(client, f"/manage/services/{catalog['svc']}/edit", form).status_code == 302
    service = db.session.get(Service, catalog["svc"])
    assert {loc.id for loc in service.locations} == {catalog["loc"], lone_location}
    form = {**form, "location_ids": [catalog["loc"]], "version": str(service.version)}
    assert post(client, f"/manage/services/{catalog['svc']}/edit", form).status_code == 302
    assert [loc.id for loc in db.session.get(Service, catalog["svc"]).locations] == [catalog["loc"]]
    change = db.session.scalar(select(ChangeRecord).filter_by(field="locations").order_by(ChangeRecord.id.desc()))
    assert change.old_value == "站点A, 市民服务中心" or change.old_value == "市民服务中心, 站点A"


# --- hours that recur monthly or every N weeks ----------------------------------------------------


@pytest.fixture
def monthly(catalog):
    """Service A also opens on the first Monday of each month, 18:00–20:00."""
    schedule = Schedule(freq="MONTHLY", byday="1MO", opens_at=time(18), closes_at=time(20), description="夜间咨询")
    service = db.session.get(Service, catalog["svc"])
    service.schedules.append(schedule)
    db.session.commit()
    return schedule.id


def test_service_page_shows_recurring_hours_in_words(client, catalog, monthly):
    page = client.get(f"/services/{catalog['svc']}").get_data(as_text=True)
    assert "其他定期开放时间" in page and "每月第一个星期一：18:00–20:00" in page and "夜间咨询" in page
    assert "下次：" in page
    post(client, "/language/en", {"next": "/"})
    page = client.get(f"/services/{catalog['svc']}").get_data(as_text=True)
    assert "First Monday of each month: 18:00–20:00" in page and "next: " in page


def test_hours_editor_keeps_recurring_hours_and_can_remove_them(client, catalog, monthly, make_user):
    foreign = make_user("agency_staff", organization_id=catalog["org_b"])
    login(client, foreign.username)
    assert post(client, f"/manage/schedules/{monthly}/delete").status_code == 403
    post(client, "/logout")

    staff = make_user("agency_staff", organization_id=catalog["org"])
    login(client, staff.username)
    page = client.get(f"/manage/services/{catalog['svc']}/hours").get_data(as_text=True)
    assert "每月第一个星期一：18:00–20:00" in page and f"/manage/schedules/{monthly}/delete" in page
    assert 'value="18:00"' not in page  # not in the weekly form
    response = post(
        client,
        f"/manage/services/{catalog['svc']}/hours",
        {"version": "2", "SA_1_opens": "09:00", "SA_1_closes": "12:00"},  # adding the monthly hours bumped it
    )
    assert response.status_code == 302
    schedules = db.session.get(Service, catalog["svc"]).schedules
    assert sorted((s.freq, s.byday) for s in schedules) == [("MONTHLY", "1MO"), ("WEEKLY", "SA")]
    change = db.session.scalar(select(ChangeRecord).filter_by(field="hours"))
    assert change.new_value == "SA 09:00–12:00; FREQ=MONTHLY;BYDAY=1MO 18:00–20:00"

    assert post(client, f"/manage/schedules/{monthly}/delete").status_code == 302
    assert [s.byday for s in db.session.get(Service, catalog["svc"]).schedules] == ["SA"]
    removed = db.session.scalars(select(ChangeRecord).filter_by(field="hours").order_by(ChangeRecord.id)).all()[-1]
    assert removed.old_value.endswith("FREQ=MONTHLY;BYDAY=1MO 18:00–20:00") and removed.new_value == "SA 09:00–12:00"
    assert post(client, f"/manage/schedules/{monthly}/delete").status_code == 404
