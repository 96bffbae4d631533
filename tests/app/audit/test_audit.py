"""The tamper-evident trail: every write leaves an event, and any edit by hand is found."""

import json
import os
import subprocess
import sys
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.config import PROJECT_ROOT
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.conftest import Databases, migrated_engine


@pytest.fixture
def trail(client: TestClient, db: Session, settings: Any) -> dict[str, dict[str, str]]:
    """Some real activity: six events from three kinds of writes."""
    admin = auth(make_account(db, "admin"), settings)
    county = auth(make_account(db, "county", "220822"), settings)
    pid = client.post("/api/v1/profiles", json=profile_payload(), headers=admin).json()["id"]
    client.patch(f"/api/v1/profiles/{pid}", json={"title": "研究员"}, headers=admin)
    nid = client.post(
        "/api/v1/needs", json=need_payload(county_code="220822"), headers=county
    ).json()["id"]
    client.patch(f"/api/v1/needs/{nid}", json={"headcount": 3}, headers=county)
    client.post(
        "/api/v1/accounts",
        headers=admin,
        json={"username": "newone", "password": "Nenjiang9", "role": "province"},
    )
    client.post("/api/v1/auth/token", data={"username": "newone", "password": "wrong123"})
    return {"admin": admin, "county": county}


def _tamper(db: Session, sql: str, **params: Any) -> None:
    """Change the table by hand, as someone with direct database access would."""
    if db.get_bind().dialect.name == "postgresql":
        db.execute(text("ALTER TABLE audit_event DISABLE TRIGGER audit_event_no_update_delete"))
    db.execute(text(sql), params)
    db.expire_all()


def test_every_write_is_in_the_chain(client: TestClient, db: Session, trail: Any) -> None:
    actions = db.exec(select(AuditEvent.action).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
    assert list(actions) == [
        "profile.create",
        "profile.update",
        "need.create",
        "need.update",
        "account.create",
        "auth.login_failed",
    ]
    events = db.exec(select(AuditEvent).order_by(AuditEvent.seq)).all()  # type: ignore[arg-type]
    assert [e.seq for e in events] == list(range(1, 7))
    assert all(b.prev_hash == a.hash for a, b in zip(events, events[1:], strict=False))
    update = events[1]
    assert json.loads(update.before or "{}")["title"] == "教授"
    assert json.loads(update.after or "{}")["title"] == "研究员"
    account = json.loads(events[4].after or "{}")
    assert "password_hash" not in account
    assert "password" not in account
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert r == {
        "ok": True,
        "checked": 6,
        "first_bad_seq": None,
        "problem": None,
        "message": "审计链完整，未发现篡改",
    }


def test_edited_row_is_found_at_its_sequence_number(
    client: TestClient, db: Session, trail: Any
) -> None:
    _tamper(
        db,
        "UPDATE audit_event SET after = :a WHERE seq = 3",
        a='{"county_code":"220822","headcount":99}',
    )
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert (r["ok"], r["first_bad_seq"], r["problem"]) == (False, 3, "hash_mismatch")
    assert r["checked"] == 2


def test_edit_with_recomputed_hash_breaks_the_next_link(
    client: TestClient, db: Session, trail: Any
) -> None:
    # A careful forger recomputes the edited row's own hash; the following row still points
    # at the old one.
    row = db.exec(select(AuditEvent).where(AuditEvent.seq == 2)).one()
    fields = {c: getattr(row, c) for c in AuditEvent.model_fields}
    fields["after"] = '{"title":"院士"}'
    from app.audit.chain import event_hash

    _tamper(
        db,
        "UPDATE audit_event SET after = :a, hash = :h WHERE seq = 2",
        a=fields["after"],
        h=event_hash(fields),
    )
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert (r["ok"], r["first_bad_seq"], r["problem"]) == (False, 3, "broken_link")


def test_deleted_row_is_found(client: TestClient, db: Session, trail: Any) -> None:
    _tamper(db, "DELETE FROM audit_event WHERE seq = 4")
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert (r["ok"], r["first_bad_seq"], r["problem"]) == (False, 4, "sequence_gap")


def test_deleted_tail_is_found(client: TestClient, db: Session, trail: Any) -> None:
    _tamper(db, "DELETE FROM audit_event WHERE seq = 6")
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert (r["ok"], r["first_bad_seq"], r["problem"]) == (False, 6, "truncated")


def test_row_inserted_out_of_order_is_found(client: TestClient, db: Session, trail: Any) -> None:
    last = db.exec(select(AuditEvent).where(AuditEvent.seq == 6)).one()
    _tamper(
        db,
        "INSERT INTO audit_event (seq, created_at, actor_id, actor_username, actor_role, action,"
        " entity, entity_id, before, after, context, prev_hash, hash) VALUES (8, :t, NULL,"
        " 'ghost', 'admin', 'profile.delete', 'profile', '1', NULL, NULL, NULL, :p, :h)",
        t=last.created_at,
        p=last.hash,
        h="f" * 64,
    )
    r = client.get("/api/v1/audit/verify", headers=trail["admin"]).json()
    assert (r["ok"], r["first_bad_seq"]) == (False, 7)


def test_postgresql_refuses_update_and_delete(db: Session, trail: Any) -> None:
    if db.get_bind().dialect.name != "postgresql":
        pytest.skip("the trigger exists on PostgreSQL only; SQLite relies on verify")
    for sql in (
        "UPDATE audit_event SET actor_username = 'x' WHERE seq = 1",
        "DELETE FROM audit_event WHERE seq = 1",
        "UPDATE audit_head SET seq = 1, hash = 'x'",
        "DELETE FROM audit_head",
    ):
        nested = db.begin_nested()
        with pytest.raises(DBAPIError, match="append-only|audit_head"):
            db.execute(text(sql))
        nested.rollback()


def test_events_listing_and_filters(client: TestClient, trail: Any) -> None:
    h = trail["admin"]
    page = client.get("/api/v1/audit/events", params={"page_size": 2}, headers=h).json()
    assert page["total"] == 6
    assert [e["seq"] for e in page["items"]] == [6, 5]
    needs = client.get("/api/v1/audit/events", params={"entity": "need"}, headers=h).json()
    assert [e["action_label"] for e in needs["items"]] == ["修改需求", "发布需求"]
    failed = client.get(
        "/api/v1/audit/events", params={"action": "auth.login_failed"}, headers=h
    ).json()
    assert failed["items"][0]["actor_username"] == "newone"
    # Without the sign-in records (what the page shows unless asked): only the changes.
    changes = client.get(
        "/api/v1/audit/events", params={"sign_ins": "false", "page_size": 50}, headers=h
    ).json()
    assert changes["total"] < page["total"]
    assert all(not e["action"].startswith("auth.login") for e in changes["items"])
    # ... unless a sign-in action is asked for by name.
    asked = client.get(
        "/api/v1/audit/events",
        params={"sign_ins": "false", "action": "auth.login_failed"},
        headers=h,
    ).json()
    assert asked["total"] == failed["total"] >= 1
    assert (
        client.get(
            "/api/v1/audit/events", params={"since": "2999-01-01T00:00:00"}, headers=h
        ).json()["total"]
        == 0
    )
    assert (
        client.get("/api/v1/audit/events", params={"since": "not-a-date"}, headers=h).status_code
        == 422
    )


def test_failed_write_leaves_no_event(client: TestClient, db: Session, trail: Any) -> None:
    before = db.exec(select(AuditEvent)).all()
    r = client.post(
        "/api/v1/profiles",
        json=profile_payload(hometown_county_code="229999"),
        headers=trail["admin"],
    )
    assert r.status_code == 422
    assert db.exec(select(AuditEvent)).all() == before
    assert audit.verify(db).ok


def test_cli_verify_finds_tampering(databases: Databases, tmp_path: Any) -> None:
    engine = migrated_engine(databases, "sqlite")
    from app.auth.actor import Actor
    from app.profiles import service as profiles
    from app.profiles.schemas import ProfileCreate

    with Session(engine) as db:
        for i in range(3):
            profiles.create(
                db, data=ProfileCreate(**profile_payload(name=f"人{i}")), actor=Actor.system("t")
            )
            db.commit()
    env = {
        **os.environ,
        "XIANGCAI_DATABASE_URL": str(engine.url),
        "XIANGCAI_DATA_DIR": str(tmp_path),
    }

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "app", "audit", "verify"],
            cwd=PROJECT_ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )

    ok = run()
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout) == {"ok": True, "checked": 3, "first_bad_seq": None}
    with engine.begin() as conn:
        conn.execute(text("UPDATE audit_event SET actor_username = 'someone' WHERE seq = 2"))
    bad = run()
    assert bad.returncode == 1
    assert json.loads(bad.stdout) == {"ok": False, "checked": 1, "first_bad_seq": 2}
    assert "篡改" in bad.stderr or "不符" in bad.stderr
    engine.dispose()


def test_a_rolled_back_savepoint_takes_back_only_its_own_events(db: Session) -> None:
    from app.audit import service as audit_service
    from app.auth.actor import Actor

    actor = Actor.system("savepoint-test")
    audit_service.record(db, actor=actor, action="test.kept", entity="test", entity_id=1)
    nested = db.begin_nested()
    audit_service.record(db, actor=actor, action="test.undone", entity="test", entity_id=2)
    nested.rollback()
    with db.begin_nested():
        audit_service.record(db, actor=actor, action="test.kept_too", entity="test", entity_id=3)
    db.commit()
    actions = db.exec(
        select(AuditEvent.action).where(AuditEvent.actor_username == "savepoint-test")
    ).all()
    assert sorted(actions) == ["test.kept", "test.kept_too"]
    assert audit_service.verify(db).ok
