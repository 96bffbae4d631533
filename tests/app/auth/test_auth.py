import asyncio
from typing import Any

import jwt
import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.auth import service
from app.auth.models import Account, RateCounter
from app.config import DEV_SECRET_KEY, Settings
from app.errors import AppError
from tests.app.factories import PASSWORD, auth, make_account


def _login(client: TestClient, username: str, password: str) -> Any:
    return client.post("/api/v1/auth/token", data={"username": username, "password": password})


def test_login_returns_bearer_token_that_works(client: TestClient, db: Session) -> None:
    make_account(db, "province", username="shengwei")
    r = _login(client, "shengwei", PASSWORD)
    assert r.status_code == 200
    body = r.json()
    assert body["token_type"] == "bearer"
    me = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == "shengwei"
    assert me.json()["role"] == "province"


def test_username_is_case_insensitive(client: TestClient, db: Session) -> None:
    make_account(db, "admin", username="root1")
    assert _login(client, "ROOT1", PASSWORD).status_code == 200


def test_wrong_password_and_unknown_user_answer_the_same(client: TestClient, db: Session) -> None:
    make_account(db, "talent", username="lihua")
    wrong = _login(client, "lihua", "nope12345")
    unknown = _login(client, "nobody", "nope12345")
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json()["message"] == unknown.json()["message"] == "用户名或密码错误"


def test_every_login_is_audited(client: TestClient, db: Session) -> None:
    make_account(db, "talent", username="audited")
    _login(client, "audited", "wrong12345")
    _login(client, "audited", PASSWORD)
    actions = db.exec(select(AuditEvent.action).where(AuditEvent.actor_username == "audited")).all()
    assert list(actions) == ["auth.login_failed", "auth.login"]


def test_failed_logins_are_throttled_per_username_and_client(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_account(db, "talent", username="target")
    for _ in range(settings.login_max_failures):
        assert _login(client, "target", "wrong12345").status_code == 401
    blocked = _login(client, "target", PASSWORD)  # even the right password waits
    assert blocked.status_code == 429
    assert int(blocked.headers["Retry-After"]) > 0
    assert blocked.json()["code"] == "too_many_attempts"
    # Another username from the same client is not affected.
    make_account(db, "talent", username="bystander")
    assert _login(client, "bystander", PASSWORD).status_code == 200


def test_throttle_is_per_client(app: Any, db: Session, settings: Settings) -> None:
    make_account(db, "talent", username="roaming")
    with TestClient(app, client=("10.0.0.1", 1234)) as first:
        for _ in range(settings.login_max_failures):
            first.post("/api/v1/auth/token", data={"username": "roaming", "password": "x1234567"})
        assert (
            first.post(
                "/api/v1/auth/token", data={"username": "roaming", "password": PASSWORD}
            ).status_code
            == 429
        )
    with TestClient(app, client=("10.0.0.2", 1234)) as second:
        assert (
            second.post(
                "/api/v1/auth/token", data={"username": "roaming", "password": PASSWORD}
            ).status_code
            == 200
        )


def test_success_resets_the_failure_count(
    client: TestClient, db: Session, settings: Settings
) -> None:
    make_account(db, "talent", username="forgetful")
    for _ in range(settings.login_max_failures - 1):
        _login(client, "forgetful", "wrong12345")
    assert _login(client, "forgetful", PASSWORD).status_code == 200
    for _ in range(settings.login_max_failures - 1):
        _login(client, "forgetful", "wrong12345")
    assert _login(client, "forgetful", PASSWORD).status_code == 200


def test_register_creates_talent_with_argon2_hash(client: TestClient, db: Session) -> None:
    r = client.post(
        "/api/v1/auth/register",
        json={"username": "Zhao_Lei", "password": "Songhua-river-26", "display_name": "赵磊"},
    )
    assert r.status_code == 201
    assert r.json()["role"] == "talent"
    assert r.json()["username"] == "zhao_lei"
    account = db.exec(select(Account).where(Account.username == "zhao_lei")).one()
    assert account.password_hash.startswith("$argon2id$")
    assert _login(client, "zhao_lei", "Songhua-river-26").status_code == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"username": "ab", "password": "Songhua-river-26"}, "username"),
        ({"username": "有中文", "password": "Songhua-river-26"}, "username"),
        ({"username": "validname", "password": "short1"}, "password"),
        ({"username": "validname", "password": "onlyletters"}, "password"),
        ({"username": "validname", "password": "Songhua-river-26", "role": "admin"}, "role"),
        ({"password": "Songhua-river-26"}, "username"),
    ],
)
def test_register_rejects_bad_input(client: TestClient, body: dict[str, Any], field: str) -> None:
    r = client.post("/api/v1/auth/register", json=body)
    assert r.status_code == 422
    assert r.json()["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])


def test_register_cannot_take_a_used_username(client: TestClient, db: Session) -> None:
    make_account(db, "admin", username="taken")
    r = client.post(
        "/api/v1/auth/register", json={"username": "TAKEN", "password": "Songhua-river-26"}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "username_taken"


def test_tampered_or_expired_tokens_are_refused(
    client: TestClient, db: Session, settings: Settings
) -> None:
    account = make_account(db, "admin")
    good = auth(account, settings)["Authorization"].split()[1]
    claims = jwt.decode(good, settings.secret_key, algorithms=["HS256"])
    forged = jwt.encode(
        {**claims, "role": "admin", "sub": "1"},
        "another-secret-that-is-long-enough-for-hs256",
        algorithm="HS256",
    )
    expired = jwt.encode({**claims, "exp": 1}, settings.secret_key, algorithm="HS256")
    none_alg = jwt.encode({**claims}, key=None, algorithm="none")  # type: ignore[arg-type]
    for token in (forged, expired, none_alg, "garbage"):
        r = client.get("/api/v1/auth/me", headers={"Authorization": f"Bearer {token}"})
        assert r.status_code == 401


def test_admin_manages_accounts(client: TestClient, db: Session, settings: Settings) -> None:
    admin = auth(make_account(db, "admin"), settings)
    r = client.post(
        "/api/v1/accounts",
        headers=admin,
        json={
            "username": "tongyu",
            "password": "Songhua-river-26",
            "role": "county",
            "county_code": "220822",
        },
    )
    assert r.status_code == 201
    account_id = r.json()["id"]
    assert r.json()["county_code"] == "220822"
    missing_county = client.post(
        "/api/v1/accounts",
        headers=admin,
        json={"username": "nocounty", "password": "Songhua-river-26", "role": "county"},
    )
    assert missing_county.status_code == 422
    assert missing_county.json()["field"] == "county_code"
    unknown = client.post(
        "/api/v1/accounts",
        headers=admin,
        json={
            "username": "badcounty",
            "password": "Songhua-river-26",
            "role": "county",
            "county_code": "229999",
        },
    )
    assert unknown.status_code == 422
    r = client.patch(
        f"/api/v1/accounts/{account_id}", headers=admin, json={"password": "Newpass123"}
    )
    assert r.status_code == 200
    assert _login(client, "tongyu", "Newpass123").status_code == 200
    listing = client.get("/api/v1/accounts", headers=admin, params={"role": "county"}).json()
    assert [a["username"] for a in listing["items"]] == ["tongyu"]


def test_production_refuses_the_development_secret() -> None:
    with pytest.raises(ValueError, match="XIANGCAI_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET_KEY)
    with pytest.raises(ValueError, match="XIANGCAI_SECRET_KEY"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="x" * 40).secret_key == "x" * 40
    assert Settings(env="development").secret_key == DEV_SECRET_KEY


# Found by make fuzz on PostgreSQL (2026-12-05): a NUL in the name reached the sign-in limits'
# keys and PostgreSQL refused the insert (500); SQLite stored it.
@pytest.mark.parametrize("name", ["ad\x00min", "admin\x1b", "ad\u202emin", "ad\u200bmin"])
def test_a_name_with_control_characters_is_refused_before_anything_is_counted(
    client: TestClient, db: Session, name: str
) -> None:
    make_account(db, "admin", username="admin")
    r = _login(client, name, PASSWORD)
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "username"
    assert "用户名包含不允许的控制字符或不可见字符" in r.json()["message"]
    assert db.exec(select(RateCounter)).all() == []
    assert db.exec(select(AuditEvent).where(AuditEvent.action.startswith("auth."))).all() == []
    assert _login(client, "admin", PASSWORD).status_code == 200


def test_sign_in_itself_refuses_a_name_with_control_characters(
    db: Session, settings: Settings
) -> None:
    with pytest.raises(AppError) as refused:
        asyncio.run(
            service.sign_in(
                db, username="x\x00y", password=PASSWORD, client="127.0.0.1", settings=settings
            )
        )
    assert refused.value.status_code == 422
    assert db.exec(select(RateCounter)).all() == []
