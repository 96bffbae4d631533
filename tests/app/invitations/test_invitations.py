"""Inviting people without accounts and claiming a profile with the code, on both databases."""

import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.auth.actor import Actor
from app.auth.models import Account
from app.db import utcnow
from app.errors import AppError
from app.invitations import service
from app.invitations.models import Invitation
from app.invitations.schemas import ClaimIn
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.notifications.models import Notification
from app.outbox.models import OutboxMessage
from app.profiles import service as profiles
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.conftest import BACKENDS, Databases, migrated_engine

NEW_PASSWORD = "Heitudi2027"


@dataclass
class World:
    h: dict[str, dict[str, str]]
    accounts: dict[str, Account]
    profile_id: int  # imported, no owner, phone and e-mail
    bare_id: int  # imported, no owner, no contact details
    owned_id: int  # belongs to the talent
    need_id: int


@pytest.fixture
def world(db: Session, settings: Any) -> World:
    accounts = {
        "admin": make_account(db, "admin"),
        "province": make_account(db, "province"),
        "county": make_account(db, "county", "220822"),  # 通榆县
        "county_other": make_account(db, "county", "220322"),  # 梨树县
        "talent": make_account(db, "talent"),
    }
    system = Actor.system("test")
    imported = profiles.create(
        db,
        data=ProfileCreate(
            **profile_payload(
                name="赵春生", contact={"phone": "13900001111", "email": "zhao@example.cn"}
            )
        ),
        actor=system,
    )
    bare = profiles.create(
        db, data=ProfileCreate(**profile_payload(name="钱秋实", contact={})), actor=system
    )
    owned = profiles.create(
        db,
        data=ProfileCreate(
            **profile_payload(name="孙有田", owner_id=accounts["talent"].id, contact={})
        ),
        actor=system,
    )
    need = needs.create(
        db,
        data=NeedCreate(
            **need_payload(
                county_code="220822",
                title="盐碱地返碱死苗",
                industry="盐碱地治理",
                description="西部乡镇盐碱地多，开春返碱，水稻出苗不齐，想找懂盐碱地改良的专家。",
            )
        ),
        actor=system,
    )
    db.commit()
    assert imported.id and bare.id and owned.id and need.id  # noqa: PT018
    h = {role: auth(acc, settings) for role, acc in accounts.items()}
    return World(h, accounts, imported.id, bare.id, owned.id, need.id)


def invite(client: TestClient, w: World, profile_id: int, role: str = "county") -> Any:
    return client.post(f"/api/v1/profiles/{profile_id}/invitations", headers=w.h[role])


def claim(client: TestClient, code: str, username: str, **extra: Any) -> Any:
    body = {"code": code, "username": username, "password": NEW_PASSWORD, **extra}
    return client.post("/api/v1/auth/claim", json=body)


def test_invite_returns_a_code_once_and_queues_it_by_sms_and_email(
    client: TestClient, db: Session, world: World
) -> None:
    r = invite(client, world, world.profile_id)
    assert r.status_code == 201, r.json()
    body = r.json()
    code = body["code"]
    assert len(code.replace("-", "")) == service.CODE_LENGTH
    assert sorted(body["sent_to"]) == ["email", "sms"]
    row = db.get(Invitation, body["id"])
    assert row is not None
    assert row.code_hash == service.hash_code(code.replace("-", ""))
    assert code not in row.code_hash
    assert row.expires_at - row.created_at == timedelta(days=7)
    messages = db.exec(
        select(OutboxMessage).where(col(OutboxMessage.delivery_key).like(f"invitation-{row.id}-%"))
    ).all()
    by_channel = {m.channel: m for m in messages}
    assert set(by_channel) == {"sms", "email"}
    assert by_channel["sms"].address == "13900001111"
    assert by_channel["email"].address == "zhao@example.cn"
    for message in messages:
        assert code in message.body
        assert "/claim" in message.body
        assert message.link == "/claim"
    event = db.exec(select(AuditEvent).where(AuditEvent.action == "invitation.create")).one()
    assert event.entity_id == str(row.id)
    # The code is a password until it is used: never in the trail.
    for text in (event.before, event.after, event.context):
        assert code.replace("-", "") not in (text or "")
        assert code not in (text or "")


def test_a_person_without_contact_details_still_gets_a_code(
    client: TestClient, db: Session, world: World
) -> None:
    r = invite(client, world, world.bare_id, role="admin")
    assert r.status_code == 201, r.json()
    assert r.json()["sent_to"] == []
    assert r.json()["code"]
    rows = db.exec(
        select(OutboxMessage).where(col(OutboxMessage.delivery_key).like("invitation-%"))
    ).all()
    assert rows == []


def test_code_works_once_then_is_refused(client: TestClient, db: Session, world: World) -> None:
    code = invite(client, world, world.profile_id).json()["code"]
    # Typed from an SMS: lower case, a space instead of the dash.
    r = claim(client, code.lower().replace("-", " "), "zhaochunsheng")
    assert r.status_code == 201, r.json()
    body = r.json()
    assert body["profile_id"] == world.profile_id
    assert body["account"]["role"] == "talent"
    assert body["account"]["display_name"] == "赵春生"
    profile = db.get(Profile, world.profile_id)
    assert profile is not None
    db.refresh(profile)
    assert profile.owner_id == body["account"]["id"]
    again = claim(client, code, "zhaochunsheng2")
    assert again.status_code == 410
    assert again.json()["code"] == "code_used"
    assert again.json()["field"] == "code"
    assert "已被使用" in again.json()["message"]
    assert db.exec(select(Account).where(Account.username == "zhaochunsheng2")).first() is None
    actions = db.exec(
        select(AuditEvent.action).where(col(AuditEvent.action).in_(("invitation.claim",)))
    ).all()
    assert actions == ["invitation.claim"]


def test_the_claimed_account_signs_in_and_owns_the_profile(
    client: TestClient, world: World
) -> None:
    code = invite(client, world, world.profile_id).json()["code"]
    token = claim(client, code, "zhaochun").json()["access_token"]
    mine = client.get("/api/v1/profiles/me", headers={"Authorization": f"Bearer {token}"})
    assert mine.status_code == 200
    assert mine.json()["id"] == world.profile_id
    signed_in = client.post(
        "/api/v1/auth/token", data={"username": "zhaochun", "password": NEW_PASSWORD}
    )
    assert signed_in.status_code == 200
    headers = {"Authorization": f"Bearer {signed_in.json()['access_token']}"}
    edit = client.patch(
        f"/api/v1/profiles/{world.profile_id}", json={"title": "高级农艺师"}, headers=headers
    )
    assert edit.status_code == 200, edit.json()


def test_the_inviter_is_told_when_the_code_is_claimed(
    client: TestClient, db: Session, world: World
) -> None:
    code = invite(client, world, world.profile_id).json()["code"]
    assert claim(client, code, "zhaoclaims").status_code == 201
    county_id = world.accounts["county"].id
    told = db.exec(select(Notification).where(Notification.account_id == county_id)).all()
    assert [n.kind for n in told] == ["invitation.claimed"]
    assert "赵春生" in told[0].body
    others = db.exec(
        select(Notification).where(Notification.account_id == world.accounts["county_other"].id)
    ).all()
    assert others == []


def test_an_expired_code_is_refused(client: TestClient, db: Session, world: World) -> None:
    r = invite(client, world, world.profile_id)
    db.execute(
        update(Invitation)
        .where(col(Invitation.id) == r.json()["id"])
        .values(expires_at=utcnow() - timedelta(minutes=1))
    )
    db.commit()
    refused = claim(client, r.json()["code"], "toolate")
    assert refused.status_code == 410
    assert refused.json()["code"] == "code_expired"
    assert refused.json()["field"] == "code"
    assert "过期" in refused.json()["message"]
    assert db.exec(select(Account).where(Account.username == "toolate")).first() is None


def test_a_newer_invitation_revokes_the_older_code(
    client: TestClient, db: Session, world: World
) -> None:
    first = invite(client, world, world.profile_id).json()
    second = invite(client, world, world.profile_id, role="county_other").json()
    assert first["code"] != second["code"]
    old = claim(client, first["code"], "oldcode")
    assert old.status_code == 410
    assert old.json()["code"] == "code_revoked"
    assert claim(client, second["code"], "newcode").status_code == 201
    # The newer invitation's sender is the one told.
    told = db.exec(
        select(Notification.account_id).where(Notification.kind == "invitation.claimed")
    ).all()
    assert told == [world.accounts["county_other"].id]


def test_a_wrong_code_is_refused_with_a_message_on_the_code(
    client: TestClient, world: World
) -> None:
    r = claim(client, "ABCDE-FGHJK", "guesser")
    assert r.status_code == 400
    assert r.json()["code"] == "invalid_code"
    assert r.json()["field"] == "code"
    missing = client.post(
        "/api/v1/auth/claim", json={"username": "nocode", "password": NEW_PASSWORD}
    )
    assert missing.status_code == 422
    assert missing.json()["field"] == "code"
    assert missing.json()["message"] == "请输入邀请码"


def test_claim_keeps_the_rules_of_registration(client: TestClient, world: World) -> None:
    code = invite(client, world, world.profile_id).json()["code"]
    weak = client.post(
        "/api/v1/auth/claim", json={"code": code, "username": "weakling", "password": "abc"}
    )
    assert weak.status_code == 422
    assert weak.json()["field"] == "password"
    taken = claim(client, code, world.accounts["talent"].username)
    assert taken.status_code == 409
    assert taken.json()["code"] == "username_taken"
    # Neither used the code up.
    assert claim(client, code, "rightname").status_code == 201


def test_a_profile_with_an_owner_cannot_be_invited(client: TestClient, world: World) -> None:
    r = invite(client, world, world.owned_id)
    assert r.status_code == 409
    assert r.json()["code"] == "already_registered"
    assert "已注册" in r.json()["message"]
    code = invite(client, world, world.profile_id).json()["code"]
    assert claim(client, code, "firstowner").status_code == 201
    assert invite(client, world, world.profile_id).status_code == 409


@pytest.mark.parametrize("role", ["province", "talent"])
def test_only_counties_and_admins_invite(client: TestClient, world: World, role: str) -> None:
    r = invite(client, world, world.profile_id, role=role)
    assert r.status_code == 403
    assert client.post(f"/api/v1/profiles/{world.profile_id}/invitations").status_code == 401


def test_wrong_codes_are_throttled_per_address(app: FastAPI, world: World) -> None:
    with TestClient(app, client=("198.51.100.7", 5000)) as c:
        code = invite(c, world, world.profile_id).json()["code"]
        for i in range(service.CLAIM_MAX_FAILURES):
            assert claim(c, f"WRONG{i:05d}", "guesser").status_code == 400
        r = claim(c, code, "guesser")  # even the right code waits now
        assert r.status_code == 429
        assert int(r.headers["Retry-After"]) > 0
        assert r.json()["field"] == "code"
        assert "秒后再试" in r.json()["message"]
    with TestClient(app, client=("198.51.100.8", 5000)) as other:
        assert claim(other, code, "guesser").status_code == 201


def test_a_right_code_does_not_count_against_the_address(app: FastAPI, world: World) -> None:
    with TestClient(app, client=("198.51.100.9", 5000)) as c:
        for i in range(service.CLAIM_MAX_FAILURES - 1):
            assert claim(c, f"WRONG{i:05d}", "someone").status_code == 400
        code = invite(c, world, world.profile_id).json()["code"]
        assert claim(c, code, "someone").status_code == 201
        assert claim(c, "WRONG99999", "someone2").status_code == 400


def test_match_list_tells_who_has_an_account_and_flips_after_the_claim(
    client: TestClient, world: World
) -> None:
    def states() -> dict[int, tuple[bool, str]]:
        r = client.get(
            f"/api/v1/needs/{world.need_id}/matches",
            params={"limit": 50},
            headers=world.h["county"],
        )
        assert r.status_code == 200, r.json()
        return {i["profile_id"]: (i["has_account"], i["talent_state"]) for i in r.json()["items"]}

    before = states()
    assert before[world.owned_id] == (True, "registered")
    assert before[world.profile_id] == (False, "offline")
    code = invite(client, world, world.profile_id).json()["code"]
    assert states()[world.profile_id] == (False, "invited")
    assert claim(client, code, "flipper").status_code == 201
    assert states()[world.profile_id] == (True, "registered")


def test_a_proposal_shows_that_the_person_is_invited(client: TestClient, world: World) -> None:
    r = client.post(
        "/api/v1/placements",
        json={"need_id": world.need_id, "profile_id": world.profile_id, "reason": "邀请测试"},
        headers=world.h["county"],
    )
    assert r.status_code == 201, r.json()
    pid = r.json()["id"]
    assert r.json()["talent_state"] == "offline"
    code = invite(client, world, world.profile_id).json()["code"]
    one = client.get(f"/api/v1/placements/{pid}", headers=world.h["county"]).json()
    assert one["talent_state"] == "invited"
    listed = client.get("/api/v1/placements", headers=world.h["county"]).json()["items"]
    assert [p["talent_state"] for p in listed if p["id"] == pid] == ["invited"]
    token = claim(client, code, "proposed1").json()["access_token"]
    mine = client.get("/api/v1/placements", headers={"Authorization": f"Bearer {token}"}).json()
    assert [(p["id"], p["talent_state"]) for p in mine["items"]] == [(pid, "registered")]


# --- two claims of one code at once, on a database of their own ---------------------------------


@pytest.fixture(params=BACKENDS)
def own_engine(request: pytest.FixtureRequest, databases: Databases) -> Any:
    engine = migrated_engine(databases, request.param)
    yield engine
    engine.dispose()


def test_two_claims_of_one_code_at_once_create_one_account(own_engine: Any) -> None:
    with Session(own_engine, expire_on_commit=False) as db:
        county = make_account(db, "county", "220822")
        profile = profiles.create(
            db, data=ProfileCreate(**profile_payload(name="周并发")), actor=Actor.system("test")
        )
        db.commit()
        assert profile.id is not None
        actor = Actor(id=county.id, username=county.username, role="county", county_code="220822")
        issued = service.invite(
            db, profile_id=profile.id, actor=actor, public_url="http://127.0.0.1:8000"
        )
        db.commit()
    barrier = threading.Barrier(2)
    outcomes: dict[str, str] = {}

    def one(username: str) -> None:
        data = ClaimIn(code=issued.code, username=username, password=NEW_PASSWORD)
        with Session(own_engine, expire_on_commit=False) as session:
            barrier.wait()
            try:
                service.claim(session, data=data, client=f"client-{username}")
                session.commit()
                outcomes[username] = "ok"
            except AppError as exc:
                session.rollback()
                outcomes[username] = exc.code

    threads = [threading.Thread(target=one, args=(name,)) for name in ("racer1", "racer2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert sorted(outcomes.values())[-1] == "ok"
    assert list(outcomes.values()).count("ok") == 1, outcomes
    loser = next(v for v in outcomes.values() if v != "ok")
    assert loser in ("code_used", "already_registered")
    with Session(own_engine) as db:
        talents = db.exec(
            select(Account.username).where(col(Account.username).in_(("racer1", "racer2")))
        ).all()
        assert len(talents) == 1
        owner = db.get(Profile, profile.id)
        assert owner is not None
        winner = db.exec(select(Account).where(Account.username == talents[0])).one()
        assert owner.owner_id == winner.id
