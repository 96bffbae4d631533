"""Who may open which page, written out (as test_permissions.py does for the API), and the
cookie and form plumbing, without a browser."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.policy import find_rule
from app.needs.schemas import NeedCreate
from app.web import router as web
from app.web.deps import PageRoute
from app.web.forms import Form
from app.web.pages.auth import safe_next
from tests.app.factories import PASSWORD, form_token, make_account, page_sign_in

ALL = {"admin", "province", "county", "talent"}
READERS = {"admin", "province", "county"}
AUDITORS = {"admin", "province"}
PUBLIC = None  # a page anyone may open

PAGES: dict[tuple[str, str], set[str] | None] = {
    ("GET", "/"): PUBLIC,
    ("GET", "/login"): PUBLIC,
    ("POST", "/login"): PUBLIC,
    ("GET", "/register"): PUBLIC,
    ("POST", "/register"): PUBLIC,
    ("GET", "/claim"): PUBLIC,
    ("POST", "/claim"): PUBLIC,
    ("POST", "/profiles/{profile_id}/invite"): {"county", "admin"},
    ("POST", "/logout"): PUBLIC,
    ("GET", "/needs"): READERS,
    ("GET", "/needs/new"): {"county"},
    ("POST", "/needs/new"): {"county"},
    ("GET", "/needs/{need_id}"): READERS,
    ("GET", "/needs/{need_id}/edit"): {"county"},
    ("POST", "/needs/{need_id}/edit"): {"county"},
    ("POST", "/needs/{need_id}/close"): {"county"},
    ("GET", "/needs/{need_id}/matches"): READERS,
    ("GET", "/needs/{need_id}/interests"): READERS,
    ("GET", "/needs/{need_id}/candidates"): {"county"},
    ("GET", "/needs/{need_id}/propose"): {"county"},
    ("POST", "/needs/{need_id}/propose"): {"county"},
    ("GET", "/placements"): ALL,
    ("GET", "/placements/export"): AUDITORS,
    ("GET", "/placements/{placement_id}"): ALL,
    ("POST", "/placements/{placement_id}/accept"): ALL,
    ("POST", "/placements/{placement_id}/decline"): ALL,
    ("POST", "/placements/{placement_id}/start"): ALL,
    ("POST", "/placements/{placement_id}/complete"): ALL,
    ("POST", "/placements/{placement_id}/cancel"): ALL,
    ("POST", "/placements/{placement_id}/reports"): ALL,
    ("GET", "/placements/{placement_id}/history"): ALL,
    ("GET", "/profiles/{profile_id}"): ALL,
    ("GET", "/me"): {"talent"},
    ("GET", "/me/profile"): {"talent"},
    ("GET", "/me/profile/edit"): {"talent"},
    ("POST", "/me/profile/edit"): {"talent"},
    ("GET", "/me/matches"): {"talent"},
    ("GET", "/me/needs"): {"talent"},
    ("GET", "/me/needs/{need_id}"): {"talent"},
    ("POST", "/me/needs/{need_id}/interest"): {"talent"},
    ("POST", "/me/needs/{need_id}/interest/withdraw"): {"talent"},
    ("GET", "/stats"): AUDITORS,
    ("GET", "/stats/export"): AUDITORS,
    ("GET", "/stats/findings"): AUDITORS,
    ("GET", "/stats/map"): AUDITORS,
    ("GET", "/stats/counties/{code}"): AUDITORS,
    ("GET", "/audit"): AUDITORS,
    ("GET", "/audit/events"): AUDITORS,
    ("GET", "/admin/accounts"): {"admin"},
    ("GET", "/admin/accounts/new"): {"admin"},
    ("POST", "/admin/accounts/new"): {"admin"},
    ("GET", "/admin/accounts/{account_id}"): {"admin"},
    ("POST", "/admin/accounts/{account_id}"): {"admin"},
    ("POST", "/admin/accounts/{account_id}/password"): {"admin"},
    ("POST", "/admin/accounts/{account_id}/active"): {"admin"},
    ("GET", "/notifications"): ALL,
    ("POST", "/notifications/{notification_id}/open"): ALL,
    ("POST", "/notifications/read-all"): ALL,
    ("GET", "/settings/notifications"): ALL,
    ("POST", "/settings/notifications"): ALL,
    ("GET", "/admin/import"): {"admin"},
    ("POST", "/admin/import"): {"admin"},
    ("GET", "/admin/import/templates/{kind}.xlsx"): {"admin"},
    # 全省统筹: the province and admin plan; only admin proposes from a plan in bulk.
    ("GET", "/plans"): AUDITORS,
    ("POST", "/plans"): AUDITORS,
    ("GET", "/plans/{plan_id}"): AUDITORS,
    ("GET", "/plans/{plan_id}/export.xlsx"): AUDITORS,
    ("POST", "/plans/{plan_id}/apply"): {"admin"},
}


def page_routes() -> list[PageRoute]:
    routes = [r for m in web.PAGE_MODULES for r in m.router.routes]
    assert all(isinstance(r, PageRoute) for r in routes)
    return routes  # type: ignore[return-value]


def test_every_page_declares_the_rule_written_here() -> None:
    seen: dict[tuple[str, str], set[str] | None] = {}
    for route in page_routes():
        rule = find_rule(route.dependant)
        assert rule is not None, f"{route.path} has no access rule"
        kind, roles = rule
        for method in route.methods:
            seen[(method, route.path)] = None if kind == "public" else {str(r) for r in roles}
    assert seen == PAGES
    assert web.router.routes, "the page modules are included in the web router"


def test_pages_stay_out_of_the_api_document(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if not p.startswith("/api/v1/")]


_token = form_token


def test_anonymous_visitor_is_sent_to_sign_in_and_other_roles_are_refused(
    client: TestClient, db: Session
) -> None:
    for path in ("/needs", "/me", "/stats", "/admin/accounts", "/placements/1"):
        r = client.get(path, follow_redirects=False)
        assert r.status_code == 303
        assert r.headers["location"] == f"/login?next={path}"
    make_account(db, "talent", username="webtalent")
    token = _token(client.get("/login").text)
    r = client.post(
        "/login", data={"username": "webtalent", "password": PASSWORD, "csrf_token": token}
    )
    assert r.url.path == "/me"
    for path in ("/needs", "/stats", "/admin/accounts", "/needs/new"):
        r = client.get(path)
        assert r.status_code == 403
        assert "无权访问" in r.text
        assert r.headers["content-type"].startswith("text/html")


def test_session_cookie_is_httponly_and_lax_and_secure_when_configured(
    client: TestClient, db: Session
) -> None:
    make_account(db, "province", username="webprov")
    token = _token(client.get("/login").text)
    r = client.post(
        "/login",
        data={"username": "webprov", "password": PASSWORD, "csrf_token": token},
        follow_redirects=False,
    )
    cookies = r.headers.get_list("set-cookie")
    session = next(c for c in cookies if c.startswith("xiangcai_session="))
    assert "HttpOnly" in session
    assert "SameSite=lax" in session
    assert "Secure" not in session  # settings.cookie_secure is off in the tests
    client.app.state.settings = client.app.state.settings.model_copy(update={"cookie_secure": True})
    r = client.post(
        "/login",
        data={
            "username": "webprov",
            "password": PASSWORD,
            "csrf_token": _token(client.get("/login").text),
        },
        follow_redirects=False,
    )
    session = next(c for c in r.headers.get_list("set-cookie") if c.startswith("xiangcai_session="))
    assert "Secure" in session


@pytest.mark.parametrize(
    "path",
    [
        "/stats?from=0001-01-01",
        "/stats?to=9999-12-31",
        "/stats/export?from=0001-01-01",
        "/placements?date_to=9999-12-31",
        "/audit/events?date_from=0001-01-01",
    ],
)
def test_a_date_filter_beyond_the_range_is_explained_on_the_page(
    client: TestClient, db: Session, path: str
) -> None:
    # Each of these was a 500: the day's start in Beijing time left Python's dates.
    make_account(db, "province", username="webdates")
    page_sign_in(client, "webdates")
    r = client.get(path)
    assert r.status_code == 200, r.text[:300]
    assert "日期应在 1900-01-01 至 2999-12-31 之间" in r.text


def test_sign_in_form_without_its_token_is_refused(client: TestClient, db: Session) -> None:
    make_account(db, "admin", username="webadmin")
    client.get("/login")
    r = client.post("/login", data={"username": "webadmin", "password": PASSWORD})
    assert r.status_code == 403
    assert "请求来源无法验证" in r.text
    assert "xiangcai_session" not in r.cookies


@pytest.mark.parametrize("name", ["web\x00admin", "web\u202eadmin"])
def test_a_sign_in_name_with_control_characters_is_explained_on_the_page(
    client: TestClient, db: Session, name: str
) -> None:
    make_account(db, "admin", username="webadmin")
    token = form_token(client.get("/login").text)
    r = client.post("/login", data={"username": name, "password": PASSWORD, "csrf_token": token})
    assert r.status_code == 422, r.text[:300]
    assert "用户名包含不允许的控制字符或不可见字符" in r.text
    assert "xiangcai_session" not in r.cookies


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("/needs/3?page=2", "/needs/3?page=2"),
        ("//evil.example/needs", None),
        ("/\\evil.example", None),
        ("https://evil.example/", None),
        ("", None),
    ],
)
def test_sign_in_returns_only_to_this_site(value: str, expected: str | None) -> None:
    assert safe_next(value) == expected


def test_form_puts_each_message_beside_its_input() -> None:
    form = Form(
        values={"title": "", "headcount": "30", "program": "x"},
        labels={"title": "需求标题"},
    )
    assert form.validate(NeedCreate, {"headcount": "30", "program": "x"}) is None
    assert form.errors["title"] == "需求标题为必填项"
    assert form.errors["headcount"] == "需求人数不能大于 20"
    assert form.errors["program"].startswith("项目类别取值必须是")
    assert "description" not in form.errors  # not an input of this form: shown at the top
    assert any("需求描述" in m for m in form.general)
