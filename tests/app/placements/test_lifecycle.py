"""A placement's whole life, its rules, and who may move it."""

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.audit.models import AuditEvent
from app.needs.models import Need
from app.placements.models import Placement
from tests.app.placements.conftest import REPORT, Placed, propose

DECLINE = {"reason_code": "schedule", "reason": "四月有课"}


def act(client: TestClient, w: Placed, pid: int, action: str, who: str, **body: object):  # type: ignore[no-untyped-def]
    if action == "decline" and not body:
        body = dict(DECLINE)
    return client.post(f"/api/v1/placements/{pid}/{action}", json=body or None, headers=w.h[who])


def test_whole_life(client: TestClient, db: Session, placed: Placed) -> None:
    w = placed
    r = propose(client, w, note="请于四月上旬到岗")
    assert r.status_code == 201, r.json()
    p = r.json()
    assert p["status"] == "proposed"
    assert p["status_label"] == "已推荐"
    assert p["off_list"] is False
    assert p["match_rank"] >= 1
    assert p["model_version"]
    assert set(p["match_components"]) >= {"dense", "lexical"}
    pid = p["id"]

    # Before acceptance the county sees the contact masked; after, in full.
    profile_url = f"/api/v1/profiles/{w.profiles['talent_a']}"
    assert client.get(profile_url, headers=w.h["county"]).json()["contact"]["masked"] is True
    r = act(client, w, pid, "accept", "talent_a")
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "accepted"
    assert r.json()["accepted_at"]
    contact = client.get(profile_url, headers=w.h["county"]).json()["contact"]
    assert contact == {"phone": "13811112222", "email": "wang@example.cn", "masked": False}
    assert client.get(profile_url, headers=w.h["county_other"]).json()["contact"]["masked"] is True
    assert client.get(profile_url, headers=w.h["province"]).json()["contact"]["masked"] is True

    # Headcount 1 reached: the need is filled.
    assert (
        client.get(f"/api/v1/needs/{w.need_id}", headers=w.h["county"]).json()["status"] == "filled"
    )

    assert act(client, w, pid, "start", "county").json()["status"] == "active"
    # Completion needs a service report first.
    r = act(client, w, pid, "complete", "county")
    assert r.status_code == 409
    assert r.json()["code"] == "report_required"
    r = client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["talent_a"])
    assert r.status_code == 201, r.json()
    r = client.post(
        f"/api/v1/placements/{pid}/reports",
        json={**REPORT, "period": "2027年5月"},
        headers=w.h["county"],
    )
    assert r.status_code == 201
    reports = client.get(f"/api/v1/placements/{pid}/reports", headers=w.h["province"]).json()
    assert [x["period"] for x in reports] == ["2027年4月", "2027年5月"]
    r = act(client, w, pid, "complete", "county")
    assert r.status_code == 200
    assert r.json()["status"] == "completed"
    assert r.json()["report_count"] == 2

    history = client.get(f"/api/v1/placements/{pid}/history", headers=w.h["province"]).json()
    assert [e["action"] for e in history] == [
        "placement.propose",
        "placement.accept",
        "placement.start",
        "report.create",
        "report.create",
        "placement.complete",
    ]
    assert history[0]["context"]["match_rank"] == p["match_rank"]
    assert history[1]["actor_role"] == "talent"
    assert all(e["action_label"] for e in history)
    # The completed person's capacity is free again; the county keeps the contact details.
    assert client.get(profile_url, headers=w.h["county"]).json()["contact"]["masked"] is False


ALL_ACTIONS = ["accept", "decline", "start", "complete", "cancel"]
LEGAL = {
    "proposed": {"accept", "decline", "cancel"},
    "accepted": {"start", "cancel"},
    "active": {"complete", "cancel"},
    "declined": set(),
    "completed": set(),
    "cancelled": set(),
}
PATH_TO = {
    "proposed": [],
    "accepted": ["accept"],
    "declined": ["decline"],
    "active": ["accept", "start"],
    "completed": ["accept", "start", "report", "complete"],
    "cancelled": ["cancel"],
}


def _drive(client: TestClient, w: Placed, pid: int, steps: list[str]) -> None:
    who = {
        "accept": "talent_a",
        "decline": "talent_a",
        "start": "county",
        "complete": "county",
        "cancel": "county",
    }
    for step in steps:
        if step == "report":
            r = client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["county"])
        elif step == "cancel":
            r = act(client, w, pid, "cancel", "county", reason="县里调整计划")
        else:
            r = act(client, w, pid, step, who[step])
        assert r.status_code in (200, 201), (step, r.json())


ILLEGAL = [(s, a) for s in LEGAL for a in ALL_ACTIONS if a not in LEGAL[s]]


@pytest.mark.parametrize(("state", "action"), ILLEGAL)
def test_every_illegal_transition_is_409(
    client: TestClient, placed: Placed, state: str, action: str
) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    _drive(client, w, pid, PATH_TO[state])
    body = {"reason": "测试"} if action == "cancel" else DECLINE if action == "decline" else None
    who = "admin"  # admin may attempt every action, so only the state decides
    r = client.post(f"/api/v1/placements/{pid}/{action}", json=body, headers=w.h[who])
    assert r.status_code == 409, r.json()
    assert r.json()["code"] == "illegal_transition"
    assert r.json()["status"] == state
    assert client.get(f"/api/v1/placements/{pid}", headers=w.h["admin"]).json()["status"] == state


def test_decline_and_cancel_free_the_need(client: TestClient, placed: Placed) -> None:
    w = placed
    first = propose(client, w).json()["id"]
    assert act(client, w, first, "accept", "talent_a").status_code == 200
    need_url = f"/api/v1/needs/{w.need_id}"
    assert client.get(need_url, headers=w.h["county"]).json()["status"] == "filled"
    # A filled need takes no new proposals.
    r = propose(client, w, "talent_b")
    assert r.status_code == 409
    assert r.json()["code"] == "need_not_open"
    # Cancel needs a reason; then the need is open again.
    r = act(client, w, first, "cancel", "talent_a")
    assert r.status_code == 422
    r = act(client, w, first, "cancel", "talent_a", reason="家中有事无法到岗")
    assert r.status_code == 200
    assert r.json()["cancel_reason"] == "家中有事无法到岗"
    assert client.get(need_url, headers=w.h["county"]).json()["status"] == "open"
    second = propose(client, w, "talent_b").json()["id"]
    assert act(client, w, second, "decline", "talent_b").json()["status"] == "declined"
    assert client.get(need_url, headers=w.h["county"]).json()["status"] == "open"


def test_only_the_right_people_move_a_placement(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    assert act(client, w, pid, "accept", "talent_b").status_code == 403  # not their profile
    assert act(client, w, pid, "accept", "county").status_code == 403  # talents accept
    assert act(client, w, pid, "accept", "province").status_code == 403
    assert act(client, w, pid, "accept", "county_other").status_code == 403
    assert act(client, w, pid, "accept", "talent_a").status_code == 200
    assert act(client, w, pid, "start", "talent_a").status_code == 403  # the county starts
    assert act(client, w, pid, "start", "county_other").status_code == 403
    r = client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["talent_b"])
    assert r.status_code == 403
    assert client.get(f"/api/v1/placements/{pid}", headers=w.h["county_other"]).status_code == 403
    assert client.get(f"/api/v1/placements/{pid}", headers=w.h["talent_b"]).status_code == 403
    assert (
        client.get(f"/api/v1/placements/{pid}/history", headers=w.h["talent_b"]).status_code == 403
    )


def test_county_cannot_propose_for_another_county(client: TestClient, placed: Placed) -> None:
    w = placed
    body = {"need_id": w.need_id, "profile_id": w.profiles["talent_a"]}
    r = client.post("/api/v1/placements", json=body, headers=w.h["county_other"])
    assert r.status_code == 403


def test_duplicate_and_bad_proposals(client: TestClient, db: Session, placed: Placed) -> None:
    w = placed
    assert propose(client, w).status_code == 201
    again = propose(client, w)
    assert again.status_code == 409
    assert again.json()["code"] == "already_proposed"
    missing = client.post(
        "/api/v1/placements", json={"need_id": 999999, "profile_id": 1}, headers=w.h["admin"]
    )
    assert missing.status_code == 404
    assert missing.json()["field"] == "need_id"
    bad = client.post("/api/v1/placements", json={"need_id": "x"}, headers=w.h["county"])
    assert bad.status_code == 422
    assert {e["field"] for e in bad.json()["errors"]} == {"need_id", "profile_id"}


def test_off_list_needs_a_reason(client: TestClient, db: Session, placed: Placed, app) -> None:  # type: ignore[no-untyped-def]
    w = placed
    # With a window of one, whoever is not first on the list is off the list.
    app.state.settings = app.state.settings.model_copy(update={"match_window": 1})
    matches = client.get(f"/api/v1/needs/{w.need_id}/matches", headers=w.h["county"]).json()
    second = next(i["profile_id"] for i in matches["items"] if i["rank"] == 2)
    who = next(k for k, v in w.profiles.items() if v == second)
    before = db.exec(select(Placement)).all()
    r = propose(client, w, who)
    assert r.status_code == 422
    assert r.json()["field"] == "reason"
    assert r.json()["code"] == "reason_required"
    assert db.exec(select(Placement)).all() == before
    r = propose(client, w, who, reason="本县籍，熟悉当地土壤情况")
    assert r.status_code == 201
    assert r.json()["off_list"] is True
    assert r.json()["match_rank"] is None
    assert r.json()["reason"] == "本县籍，熟悉当地土壤情况"


def test_capacity_and_headcount_cannot_drop_below_open(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w, "talent_b").json()["id"]
    assert act(client, w, pid, "accept", "talent_b").status_code == 200
    r = client.patch(
        f"/api/v1/profiles/{w.profiles['talent_b']}", json={"capacity": 1}, headers=w.h["talent_b"]
    )
    assert r.status_code == 200  # one open placement, capacity one: fine
    r = client.patch(f"/api/v1/needs/{w.need_id}", json={"headcount": 2}, headers=w.h["county"])
    assert r.status_code == 200
    assert act(client, w, pid, "cancel", "county", reason="调整").status_code == 200


def test_placed_profile_and_need_cannot_be_deleted(client: TestClient, placed: Placed) -> None:
    w = placed
    propose(client, w)
    r = client.delete(f"/api/v1/profiles/{w.profiles['talent_a']}", headers=w.h["talent_a"])
    assert r.status_code == 409
    assert r.json()["code"] == "has_placements"
    r = client.delete(f"/api/v1/needs/{w.need_id}", headers=w.h["county"])
    assert r.status_code == 409


def test_report_validation(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    r = client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["county"])
    assert r.status_code == 409  # only while accepted or active
    act(client, w, pid, "accept", "talent_a")
    for change, field in [
        ({"service_days": -1}, "service_days"),
        ({"service_days": 400}, "service_days"),
        ({"text": ""}, "text"),
        ({"period": ""}, "period"),
        ({"jobs_created": "many"}, "jobs_created"),
    ]:
        r = client.post(
            f"/api/v1/placements/{pid}/reports", json={**REPORT, **change}, headers=w.h["county"]
        )
        assert r.status_code == 422, change
        assert r.json()["field"] == field


def test_failed_write_leaves_neither_change_nor_event(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    events_before = len(db.exec(select(AuditEvent)).all())
    need_before = db.get(Need, w.need_id)
    assert need_before is not None
    # Accept consumes the only place; a second accept of another proposal must fail whole.
    p1 = propose(client, w).json()["id"]
    client.patch(f"/api/v1/needs/{w.need_id}", json={"headcount": 2}, headers=w.h["county"])
    p2 = propose(client, w, "talent_b").json()["id"]
    client.patch(f"/api/v1/needs/{w.need_id}", json={"headcount": 1}, headers=w.h["county"])
    assert act(client, w, p1, "accept", "talent_a").status_code == 200
    events_mid = len(db.exec(select(AuditEvent)).all())
    r = act(client, w, p2, "accept", "talent_b")
    assert r.status_code == 409
    assert r.json()["code"] == "need_full"
    assert len(db.exec(select(AuditEvent)).all()) == events_mid
    db.expire_all()
    placement = db.get(Placement, p2)
    assert placement is not None
    assert placement.status == "proposed"
    assert events_mid > events_before


def test_proposing_someone_again_for_the_same_need_warns_first(
    client: TestClient, placed: Placed
) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    act(client, w, pid, "decline", "talent_a", reason_code="distance", reason="家在长春")
    again = propose(client, w)
    assert again.status_code == 409
    body = again.json()
    assert body["code"] == "proposed_before"
    assert body["field"] == "repeat"
    assert body["placement_id"] == pid
    assert "已婉拒" in body["message"]
    assert "路途太远" in body["message"]
    assert "家在长春" in body["message"]
    confirmed = propose(client, w, repeat=True)
    assert confirmed.status_code == 201, confirmed.json()
    # Someone never proposed for this need is not asked to confirm anything.
    assert propose(client, w, who="talent_b").status_code == 201
