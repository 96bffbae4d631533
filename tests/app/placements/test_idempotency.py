from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.placements.models import Placement
from tests.app.placements.conftest import Placed


def test_retried_proposal_returns_first_answer_and_changes_nothing(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    body = {"need_id": w.need_id, "profile_id": w.profiles["talent_a"]}
    headers = {**w.h["county"], "Idempotency-Key": "propose-001"}
    first = client.post("/api/v1/placements", json=body, headers=headers)
    assert first.status_code == 201
    events = len(db.exec(select(AuditEvent)).all())
    again = client.post("/api/v1/placements", json=body, headers=headers)
    assert again.status_code == 201, again.json()
    assert again.json() == first.json()
    assert again.headers["Idempotent-Replayed"] == "true"
    assert len(db.exec(select(Placement)).all()) == 1
    assert len(db.exec(select(AuditEvent)).all()) == events
    # Without the key the same request is a duplicate proposal.
    assert client.post("/api/v1/placements", json=body, headers=w.h["county"]).status_code == 409


def test_retried_transition_is_replayed(client: TestClient, db: Session, placed: Placed) -> None:
    w = placed
    pid = client.post(
        "/api/v1/placements",
        json={"need_id": w.need_id, "profile_id": w.profiles["talent_a"]},
        headers=w.h["county"],
    ).json()["id"]
    headers = {**w.h["talent_a"], "Idempotency-Key": "accept-1"}
    first = client.post(f"/api/v1/placements/{pid}/accept", headers=headers)
    second = client.post(f"/api/v1/placements/{pid}/accept", headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.json() == first.json()
    accepts = db.exec(select(AuditEvent).where(AuditEvent.action == "placement.accept")).all()
    assert len(accepts) == 1
    # A fresh key on an accepted placement is an illegal transition, not a replay.
    third = client.post(
        f"/api/v1/placements/{pid}/accept",
        headers={**w.h["talent_a"], "Idempotency-Key": "accept-2"},
    )
    assert third.status_code == 409


def test_same_key_for_a_different_request_is_refused(client: TestClient, placed: Placed) -> None:
    w = placed
    headers = {**w.h["county"], "Idempotency-Key": "k1"}
    assert (
        client.post(
            "/api/v1/placements",
            json={"need_id": w.need_id, "profile_id": w.profiles["talent_a"]},
            headers=headers,
        ).status_code
        == 201
    )
    r = client.post(
        "/api/v1/placements",
        json={"need_id": w.need_id, "profile_id": w.profiles["talent_b"]},
        headers=headers,
    )
    assert r.status_code == 422
    assert r.json()["code"] == "idempotency_key_reused"


def test_keys_are_per_account(client: TestClient, placed: Placed) -> None:
    w = placed
    body = {"need_id": w.need_id, "profile_id": w.profiles["talent_a"]}
    assert (
        client.post(
            "/api/v1/placements", json=body, headers={**w.h["county"], "Idempotency-Key": "shared"}
        ).status_code
        == 201
    )
    # The admin using the same key string is a different request stream, not a replay.
    r = client.post(
        "/api/v1/placements", json=body, headers={**w.h["admin"], "Idempotency-Key": "shared"}
    )
    assert r.status_code == 409
    assert r.json()["code"] == "already_proposed"


def test_failed_request_is_not_remembered(client: TestClient, placed: Placed) -> None:
    w = placed
    headers = {**w.h["county"], "Idempotency-Key": "retry-after-fix"}
    bad = client.post(
        "/api/v1/placements", json={"need_id": w.need_id, "profile_id": 999999}, headers=headers
    )
    assert bad.status_code == 404
    good = client.post(
        "/api/v1/placements", json={"need_id": w.need_id, "profile_id": 999999}, headers=headers
    )
    assert good.status_code == 404  # evaluated again, not replayed
    assert "Idempotent-Replayed" not in good.headers


def test_overlong_key_is_rejected(client: TestClient, placed: Placed) -> None:
    w = placed
    r = client.post(
        "/api/v1/placements",
        json={"need_id": w.need_id, "profile_id": w.profiles["talent_a"]},
        headers={**w.h["county"], "Idempotency-Key": "x" * 101},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "Idempotency-Key"
