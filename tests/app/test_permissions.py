"""Every role (and no token) against every endpoint, on SQLite and PostgreSQL.

The table is the access policy of DOMAIN.md written out; a test also checks that it covers
every operation in the OpenAPI document, so a new endpoint cannot escape it.
"""

import io
import itertools
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import APIRouter
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute
from app.matches.matcher import Matcher
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.notifications.models import Notification
from app.placements import service as placements
from app.placements.schemas import PlacementCreate
from app.plans.models import Plan
from app.profiles import service as profiles
from app.profiles.schemas import ProfileCreate
from tests.app.factories import PASSWORD, auth, make_account, need_payload, profile_payload
from tests.app.plans.inline import InlineRunner

ROLES = ["anon", "admin", "province", "county_own", "county_other", "talent_owner", "talent_other"]
_unique = itertools.count(1)


@dataclass
class World:
    headers: dict[str, dict[str, str]]
    need_id: int
    profile_id: int
    account_id: int
    placement_id: int
    spare_profile_id: int
    notification_id: int  # the talent owner's notice of the proposal
    plan_id: int  # a finished plan (no advice: applying it proposes nobody)


@pytest.fixture
def world(db: Session, settings: Any, matcher: Matcher, app: Any) -> World:
    admin = make_account(db, "admin")
    accounts = {
        "admin": admin,
        "province": make_account(db, "province"),
        "county_own": make_account(db, "county", "220322"),
        "county_other": make_account(db, "county", "220822"),
        "talent_owner": make_account(db, "talent"),
        "talent_other": make_account(db, "talent"),
    }
    system = Actor.system("test")
    need = needs.create(db, data=NeedCreate(**need_payload(county_code="220322")), actor=system)
    data = ProfileCreate(**profile_payload(owner_id=accounts["talent_owner"].id))
    profile = profiles.create(db, data=data, actor=system)
    spare = profiles.create(
        db,
        data=ProfileCreate(**profile_payload(name="备选人", contact={"phone": "13900001111"})),
        actor=system,
    )
    db.commit()
    assert need.id and profile.id and spare.id  # noqa: PT018
    placement = placements.propose(
        db,
        data=PlacementCreate(need_id=need.id, profile_id=profile.id, reason="矩阵测试"),
        actor=system,
        matcher=matcher,
        window=50,
    )
    db.commit()
    headers = {role: auth(acc, settings) for role, acc in accounts.items()}
    headers["anon"] = {}
    assert placement.id
    notice = db.exec(
        select(Notification.id).where(Notification.account_id == accounts["talent_owner"].id)
    ).one()
    plan = Plan(status="done", parameters={}, summary=None)
    db.add(plan)
    db.commit()
    assert plan.id
    app.state.plans = InlineRunner(db, matcher)  # plans are computed in the request
    return World(
        headers,
        need.id,
        profile.id,
        accounts["province"].id or 0,
        placement.id,
        spare.id,
        notice,
        plan.id,
    )


def _csv_upload(kind: str) -> dict[str, Any]:
    if kind == "profiles":
        body = (
            "name,kind,affiliation,title,expertise,availability\n"
            f"赵{next(_unique)}号,专家,吉林大学,教授,人参连作障碍与土壤修复,兼职\n"
        )
    else:
        body = (
            "county_code,program,title,description,industry\n"
            "220322,科技特派员,黑土地保护,需要保护性耕作指导,现代农业\n"
        )
    return {"files": {"file": (f"{kind}.csv", io.BytesIO(body.encode()), "text/csv")}}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    allowed: dict[str, int]  # role -> expected status; roles not listed are refused
    body: Callable[[World], dict[str, Any]] | None = None

    def refused_status(self, role: str) -> int:
        return 401 if role == "anon" else 403


def everyone(status: int) -> dict[str, int]:
    return dict.fromkeys(ROLES, status)


def signed_in(status: int) -> dict[str, int]:
    return {r: status for r in ROLES if r != "anon"}


READERS = {"admin": 200, "province": 200, "county_own": 200, "talent_owner": 200}

CASES = [
    Case("GET", "/api/v1/health", everyone(200)),
    Case(
        "POST",
        "/api/v1/auth/token",
        everyone(200),
        lambda w: {"data": {"username": "login_probe", "password": PASSWORD}},
    ),
    Case(
        "POST",
        "/api/v1/auth/register",
        everyone(201),
        lambda w: {"json": {"username": f"newtalent{next(_unique)}", "password": "Nenjiang9"}},
    ),
    Case("GET", "/api/v1/auth/me", signed_in(200)),
    Case("POST", "/api/v1/auth/logout", signed_in(204)),
    Case("GET", "/api/v1/accounts", {"admin": 200}),
    Case(
        "POST",
        "/api/v1/accounts",
        {"admin": 201},
        lambda w: {
            "json": {
                "username": f"acct{next(_unique)}",
                "password": "Nenjiang9",
                "role": "province",
            }
        },
    ),
    Case("GET", "/api/v1/accounts/{account_id}", {"admin": 200}),
    Case(
        "PATCH",
        "/api/v1/accounts/{account_id}",
        {"admin": 200},
        lambda w: {"json": {"display_name": "新名称"}},
    ),
    Case("GET", "/api/v1/counties", everyone(200)),
    Case("GET", "/api/v1/counties/{code}", everyone(200)),
    # A talent may create one profile; talent_owner already has one (409 is an allowed answer).
    Case(
        "POST",
        "/api/v1/profiles",
        {"admin": 201, "province": 201, "talent_other": 201, "talent_owner": 409},
        lambda w: {"json": profile_payload(contact={"phone": f"139{next(_unique):08d}"})},
    ),
    Case("GET", "/api/v1/profiles", signed_in(200)),
    Case("POST", "/api/v1/profiles/import", {"admin": 200}, lambda w: _csv_upload("profiles")),
    Case("GET", "/api/v1/profiles/me", {"talent_owner": 200, "talent_other": 404}),
    Case(
        "GET",
        "/api/v1/profiles/{profile_id}",
        {
            "admin": 200,
            "province": 200,
            "county_own": 200,
            "county_other": 200,
            "talent_owner": 200,
        },
    ),
    Case(
        "PATCH",
        "/api/v1/profiles/{profile_id}",
        {"admin": 200, "talent_owner": 200},
        lambda w: {"json": {"title": "研究员"}},
    ),
    # The profile has a placement, so deleting it is refused (409) even for those allowed to.
    Case("DELETE", "/api/v1/profiles/{profile_id}", {"admin": 409, "talent_owner": 409}),
    Case(
        "POST",
        "/api/v1/needs",
        {"admin": 201, "county_own": 201},
        lambda w: {"json": need_payload(county_code="220322")},
    ),
    Case("GET", "/api/v1/needs", signed_in(200)),
    Case("POST", "/api/v1/needs/import", {"admin": 200}, lambda w: _csv_upload("needs")),
    Case(
        "GET",
        "/api/v1/needs/{need_id}",
        {
            "admin": 200,
            "province": 200,
            "county_own": 200,
            "talent_owner": 200,
            "talent_other": 200,
        },
    ),
    Case(
        "PATCH",
        "/api/v1/needs/{need_id}",
        {"admin": 200, "county_own": 200},
        lambda w: {"json": {"headcount": 3}},
    ),
    # A need with a placement cannot be deleted: the allowed roles get 409, the others 403.
    Case("DELETE", "/api/v1/needs/{need_id}", {"admin": 409, "county_own": 409}),
    Case(
        "GET", "/api/v1/needs/{need_id}/matches", {"admin": 200, "province": 200, "county_own": 200}
    ),
    # talent_other has no profile (409); talent_owner has no interest to withdraw (404).
    Case("POST", "/api/v1/needs/{need_id}/interest", {"talent_owner": 201, "talent_other": 409}),
    Case("DELETE", "/api/v1/needs/{need_id}/interest", {"talent_owner": 404, "talent_other": 409}),
    Case(
        "GET",
        "/api/v1/needs/{need_id}/interests",
        {"admin": 200, "province": 200, "county_own": 200},
    ),
    Case(
        "GET",
        "/api/v1/profiles/{profile_id}/matches",
        {"admin": 200, "province": 200, "talent_owner": 200},
    ),
    Case(
        "POST",
        "/api/v1/search",
        {"admin": 200, "province": 200, "county_own": 200, "county_other": 200},
        lambda w: {"json": {"text": "盐碱地改良"}},
    ),
    Case(
        "POST",
        "/api/v1/placements",
        {"admin": 201, "county_own": 201},
        lambda w: {"json": {"need_id": w.need_id, "profile_id": w.spare_profile_id}},
    ),
    Case("GET", "/api/v1/placements", signed_in(200)),
    Case("GET", "/api/v1/placements/export", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/placements/{placement_id}", READERS),
    Case("POST", "/api/v1/placements/{placement_id}/accept", {"admin": 200, "talent_owner": 200}),
    Case(
        "POST",
        "/api/v1/placements/{placement_id}/decline",
        {"admin": 200, "talent_owner": 200},
        lambda w: {"json": {"reason_code": "capacity"}},
    ),
    # start and complete are the county's; from "proposed" they are illegal (409), which still
    # shows that the permission check let the right roles through.
    Case("POST", "/api/v1/placements/{placement_id}/start", {"admin": 409, "county_own": 409}),
    Case("POST", "/api/v1/placements/{placement_id}/complete", {"admin": 409, "county_own": 409}),
    Case(
        "POST",
        "/api/v1/placements/{placement_id}/cancel",
        {"admin": 200, "county_own": 200, "talent_owner": 200},
        lambda w: {"json": {"reason": "计划调整"}},
    ),
    Case(
        "POST",
        "/api/v1/placements/{placement_id}/reports",
        {"admin": 409, "county_own": 409, "talent_owner": 409},
        lambda w: {"json": {"period": "2027年4月", "text": "服务"}},
    ),
    Case("GET", "/api/v1/placements/{placement_id}/reports", READERS),
    Case("GET", "/api/v1/placements/{placement_id}/history", READERS),
    Case("GET", "/api/v1/audit/events", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/audit/verify", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/notifications", signed_in(200)),
    Case("POST", "/api/v1/notifications/read-all", signed_in(200)),
    Case("GET", "/api/v1/notifications/settings", signed_in(200)),
    Case(
        "PUT",
        "/api/v1/notifications/settings",
        signed_in(200),
        lambda w: {"json": {"notify_email": False}},
    ),
    # Someone else's notification is as good as missing.
    Case(
        "POST",
        "/api/v1/notifications/{notification_id}/read",
        signed_in(404) | {"talent_owner": 200},
    ),
    Case("GET", "/api/v1/stats/placements", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/stats/findings", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/stats/conversation", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/stats/needs", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/stats/export.xlsx", {"admin": 200, "province": 200}),
    # The profile has an owner already: those allowed to invite get 409.
    Case(
        "POST",
        "/api/v1/profiles/{profile_id}/invitations",
        {"admin": 409, "county_own": 409, "county_other": 409},
    ),
    Case(
        "POST",
        "/api/v1/auth/claim",
        everyone(400),
        lambda w: {
            "json": {"code": "ABCDE-FGHJK", "username": "claimprobe", "password": "Nenjiang9"}
        },
    ),
    Case("GET", "/api/v1/imports/templates/{kind}.xlsx", {"admin": 200}),
    # Province-wide plans: the province and admin plan; only admin proposes from one in bulk.
    Case("POST", "/api/v1/plans", {"admin": 202, "province": 202}, lambda w: {"json": {}}),
    Case("GET", "/api/v1/plans", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/plans/{plan_id}", {"admin": 200, "province": 200}),
    Case("GET", "/api/v1/plans/{plan_id}/export.xlsx", {"admin": 200, "province": 200}),
    Case("POST", "/api/v1/plans/{plan_id}/apply", {"admin": 200}),
]


def _request(client: TestClient, case: Case, role: str, w: World) -> Any:
    path = case.path.format(
        need_id=w.need_id,
        profile_id=w.profile_id,
        account_id=w.account_id,
        code="220322",
        placement_id=w.placement_id,
        notification_id=w.notification_id,
        kind="profiles",
        plan_id=w.plan_id,
    )
    kwargs = case.body(w) if case.body else {}
    return client.request(case.method, path, headers=w.headers[role], **kwargs)


@pytest.mark.parametrize("role", ROLES)
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c.method} {c.path}")
def test_permission_matrix(
    client: TestClient, db: Session, world: World, case: Case, role: str
) -> None:
    if case.path == "/api/v1/auth/token":
        make_account(db, "talent", username="login_probe")
    response = _request(client, case, role, world)
    expected = case.allowed.get(role, case.refused_status(role))
    assert response.status_code == expected, (role, response.json() if response.content else None)
    if expected in (401, 403):
        assert response.json()["message"]  # a Chinese explanation, not an empty refusal


def test_matrix_covers_every_operation(client: TestClient) -> None:
    spec = client.get("/openapi.json").json()
    operations = {(m.upper(), p) for p, ops in spec["paths"].items() for m in ops}
    covered = {(c.method, c.path) for c in CASES}
    assert operations - covered == set(), "endpoints without a row in the permission matrix"


# Object-level rules that a status code per role does not show on its own.


def test_county_cannot_post_need_for_another_county(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/needs",
        json=need_payload(county_code="220322"),
        headers=world.headers["county_other"],
    )
    assert r.status_code == 403
    assert r.json()["field"] == "county_code"


def test_county_cannot_list_another_countys_needs(client: TestClient, world: World) -> None:
    r = client.get("/api/v1/needs?county_code=220322", headers=world.headers["county_other"])
    assert r.status_code == 403
    own = client.get("/api/v1/needs", headers=world.headers["county_own"]).json()
    other = client.get("/api/v1/needs", headers=world.headers["county_other"]).json()
    assert [n["id"] for n in own["items"]] == [world.need_id]
    assert other["items"] == []


def test_talent_lists_only_own_profile(client: TestClient, world: World) -> None:
    mine = client.get("/api/v1/profiles", headers=world.headers["talent_owner"]).json()
    theirs = client.get("/api/v1/profiles", headers=world.headers["talent_other"]).json()
    assert [p["id"] for p in mine["items"]] == [world.profile_id]
    assert theirs["items"] == []


def test_talent_sees_only_open_needs(client: TestClient, world: World) -> None:
    h = world.headers
    assert (
        client.patch(
            f"/api/v1/needs/{world.need_id}", json={"status": "closed"}, headers=h["admin"]
        ).status_code
        == 200
    )
    assert (
        client.get(f"/api/v1/needs/{world.need_id}", headers=h["talent_other"]).status_code == 403
    )
    assert client.get("/api/v1/needs?status=closed", headers=h["talent_other"]).status_code == 403


def test_contact_masked_for_everyone_but_owner_and_admin(client: TestClient, world: World) -> None:
    url = f"/api/v1/profiles/{world.profile_id}"
    for role in ("admin", "talent_owner"):
        contact = client.get(url, headers=world.headers[role]).json()["contact"]
        assert contact == {
            "phone": "13812345678",
            "email": "wang.lixin@example.cn",
            "masked": False,
        }
    for role in ("province", "county_own", "county_other"):
        contact = client.get(url, headers=world.headers[role]).json()["contact"]
        assert contact == {"phone": "138****5678", "email": "w***@example.cn", "masked": True}


def test_route_without_rule_is_refused(client: TestClient, app: Any) -> None:
    router = APIRouter(route_class=GuardedRoute)

    @router.get("/api/v1/forgotten")
    def forgotten() -> dict[str, str]:
        return {"secret": "leaked"}

    app.include_router(router)
    response = client.get("/api/v1/forgotten")
    assert response.status_code == 403
    assert "secret" not in response.text


def test_deactivated_account_token_stops_working(
    client: TestClient, db: Session, world: World
) -> None:
    h = world.headers
    assert client.get("/api/v1/auth/me", headers=h["province"]).status_code == 200
    r = client.patch(
        f"/api/v1/accounts/{world.account_id}", json={"active": False}, headers=h["admin"]
    )
    assert r.status_code == 200
    assert client.get("/api/v1/auth/me", headers=h["province"]).status_code == 401
