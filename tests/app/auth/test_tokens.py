"""Tokens end: sign-out, and any change of password, role, county or activity revokes them."""

import re
from typing import Any

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.config import Settings
from tests.app.factories import PASSWORD, auth, make_account


def _login(client: TestClient, username: str, password: str = PASSWORD) -> dict[str, str]:
    r = client.post("/api/v1/auth/token", data={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def _me(client: TestClient, headers: dict[str, str]) -> int:
    return client.get("/api/v1/auth/me", headers=headers).status_code


def test_logout_revokes_the_presented_token(client: TestClient, db: Session) -> None:
    make_account(db, "talent", username="leaving")
    headers = _login(client, "leaving")
    assert _me(client, headers) == 200
    r = client.post("/api/v1/auth/logout", headers=headers)
    assert r.status_code == 204
    assert _me(client, headers) == 401
    assert client.post("/api/v1/auth/logout", headers=headers).status_code == 401
    # Signing in again gives a token that works.
    assert _me(client, _login(client, "leaving")) == 200


def test_logout_needs_a_token(client: TestClient) -> None:
    r = client.post("/api/v1/auth/logout")
    assert r.status_code == 401
    assert r.json()["code"] == "not_authenticated"


def test_logout_ends_every_session_of_the_account(client: TestClient, db: Session) -> None:
    make_account(db, "county", username="twodesks")
    office, home = _login(client, "twodesks"), _login(client, "twodesks")
    assert client.post("/api/v1/auth/logout", headers=office).status_code == 204
    assert _me(client, home) == 401


def _patch(client: TestClient, admin: dict[str, str], account_id: int, body: Any) -> None:
    r = client.patch(f"/api/v1/accounts/{account_id}", headers=admin, json=body)
    assert r.status_code == 200, r.text


def test_password_role_county_and_deactivation_revoke_earlier_tokens(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = auth(make_account(db, "admin"), settings)
    changes: list[dict[str, Any]] = [
        {"password": "Dongliao-river-88"},
        {"role": "province"},
        {"county_code": "220382"},
        {"active": False},
    ]
    for n, change in enumerate(changes):
        account = make_account(db, "county", username=f"changed{n}")
        assert account.id is not None
        before = auth(account, settings)
        assert _me(client, before) == 200
        _patch(client, admin, account.id, change)
        assert _me(client, before) == 401, change
    # A display name is not a matter of access: tokens stay good.
    account = make_account(db, "talent", username="renamed")
    assert account.id is not None
    before = auth(account, settings)
    _patch(client, admin, account.id, {"display_name": "新名字"})
    assert _me(client, before) == 200


def test_reactivation_does_not_revive_old_tokens(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = auth(make_account(db, "admin"), settings)
    account = make_account(db, "talent", username="paused")
    assert account.id is not None
    before = auth(account, settings)
    _patch(client, admin, account.id, {"active": False})
    _patch(client, admin, account.id, {"active": True})
    assert _me(client, before) == 401
    assert _me(client, _login(client, "paused")) == 200


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_page_logout_revokes_the_session_token(client: TestClient, db: Session) -> None:
    make_account(db, "province", username="pageuser")
    r = client.post(
        "/login",
        data={
            "username": "pageuser",
            "password": PASSWORD,
            "csrf_token": _csrf(client.get("/login").text),
        },
        follow_redirects=False,
    )
    token = r.cookies["xiangcai_session"]
    headers = {"Authorization": f"Bearer {token}"}
    assert _me(client, headers) == 200
    page = client.get("/stats")
    assert page.status_code == 200
    r = client.post("/logout", data={"csrf_token": _csrf(page.text)}, follow_redirects=False)
    assert r.status_code == 303
    # Even a copy of the cookie kept from before is now worthless.
    assert _me(client, headers) == 401
    client.cookies.set("xiangcai_session", token)
    assert client.get("/stats", follow_redirects=False).status_code == 303
