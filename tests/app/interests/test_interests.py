"""我有意向 through the API: expressing, withdrawing, the county's list with ranks, the county's
notification, the mark on the match list, and proposals that record the interest they came from."""

import json
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.audit.models import AuditEvent
from app.interests.models import Interest
from app.notifications.models import Notification
from app.placements.models import Placement
from tests.app.factories import auth, make_account, need_payload
from tests.app.placements.conftest import Placed, propose


def interest_url(w: Placed) -> str:
    return f"/api/v1/needs/{w.need_id}/interest"


def express(client: TestClient, w: Placed, who: str = "talent_a", **body: Any) -> Any:
    return client.post(interest_url(w), json=body or None, headers=w.h[who])


def county_list(client: TestClient, w: Placed, who: str = "county") -> Any:
    return client.get(f"/api/v1/needs/{w.need_id}/interests", headers=w.h[who])


def test_express_once_withdraw_and_express_again(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    r = express(client, w, note="四月可以到县里现场指导")
    assert r.status_code == 201, r.json()
    first = r.json()
    assert first["status"] == "active"
    assert first["note"] == "四月可以到县里现场指导"
    assert first["profile_id"] == w.profiles["talent_a"]
    assert first["withdrawn_at"] is None

    r = express(client, w, note="再说一次")
    assert r.status_code == 409
    assert r.json()["code"] == "already_interested"
    assert r.json()["field"] == "need_id"
    assert "已对该需求表达过意向" in r.json()["message"]

    r = client.delete(interest_url(w), headers=w.h["talent_a"])
    assert r.status_code == 200, r.json()
    assert r.json()["status"] == "withdrawn"
    assert r.json()["withdrawn_at"]
    # Withdrawing again changes nothing and records nothing.
    assert client.delete(interest_url(w), headers=w.h["talent_a"]).json()["status"] == "withdrawn"

    r = express(client, w)
    assert r.status_code == 200, r.json()
    again = r.json()
    assert again["id"] == first["id"]  # the same row, re-activated
    assert again["status"] == "active"
    assert again["note"] is None
    assert again["withdrawn_at"] is None

    actions = db.exec(
        select(AuditEvent.action)
        .where(AuditEvent.entity == "interest", AuditEvent.entity_id == str(first["id"]))
        .order_by(col(AuditEvent.seq))
    ).all()
    assert list(actions) == ["interest.create", "interest.withdraw", "interest.reactivate"]


def test_withdrawing_without_an_interest_is_not_found(client: TestClient, placed: Placed) -> None:
    r = client.delete(interest_url(placed), headers=placed.h["talent_b"])
    assert r.status_code == 404
    assert r.json()["message"] == "您尚未对该需求表达意向"


def test_closed_need_takes_no_interest(client: TestClient, placed: Placed) -> None:
    w = placed
    r = client.patch(f"/api/v1/needs/{w.need_id}", json={"status": "closed"}, headers=w.h["county"])
    assert r.status_code == 200
    r = express(client, w)
    assert r.status_code == 409
    assert r.json()["code"] == "need_not_open"
    assert r.json()["field"] == "need_id"


def test_missing_need_is_not_found(client: TestClient, placed: Placed) -> None:
    r = client.post("/api/v1/needs/999999/interest", headers=placed.h["talent_a"])
    assert r.status_code == 404


def test_talent_without_a_profile_is_asked_to_write_one(
    client: TestClient, db: Session, placed: Placed, settings: Any
) -> None:
    newcomer = make_account(db, "talent")
    r = client.post(interest_url(placed), headers=auth(newcomer, settings))
    assert r.status_code == 409
    assert r.json()["code"] == "profile_required"
    assert "请先填写人才档案" in r.json()["message"]


def test_inactive_profile_cannot_step_forward(client: TestClient, placed: Placed) -> None:
    w = placed
    url = f"/api/v1/profiles/{w.profiles['talent_a']}"
    assert client.patch(url, json={"active": False}, headers=w.h["talent_a"]).status_code == 200
    r = express(client, w)
    assert r.status_code == 409
    assert r.json()["code"] == "profile_inactive"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"note": "x" * 4001}, "note"),
        ({"note": "正常\u202e留言"}, "note"),
        ({"note": 5}, "note"),
        ({"comment": "多余字段"}, "comment"),
    ],
)
def test_bad_input_is_refused_with_its_field(
    client: TestClient, placed: Placed, body: dict[str, Any], field: str
) -> None:
    r = client.post(interest_url(placed), json=body, headers=placed.h["talent_a"])
    assert r.status_code == 422
    assert r.json()["field"] == field
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])


def test_only_talents_express_and_only_the_county_reads_the_list(
    client: TestClient, placed: Placed
) -> None:
    w = placed
    for role in ("county", "province", "admin"):
        assert express(client, w, who=role).status_code == 403
    assert express(client, w).status_code == 201
    assert county_list(client, w, "county_other").status_code == 403
    assert county_list(client, w, "talent_a").status_code == 403
    for role in ("county", "province", "admin"):
        r = county_list(client, w, role)
        assert r.status_code == 200, (role, r.json())
        assert [i["profile_id"] for i in r.json()["items"]] == [w.profiles["talent_a"]]
    assert client.get("/api/v1/needs/999999/interests", headers=w.h["county"]).status_code == 404


def test_county_list_gives_each_persons_rank_and_the_match_list_marks_them(
    client: TestClient, placed: Placed
) -> None:
    w = placed
    assert express(client, w, who="talent_b", note="我做过苏打盐渍土治理").status_code == 201
    assert express(client, w, who="talent_a").status_code == 201
    assert client.delete(interest_url(w), headers=w.h["talent_a"]).status_code == 200

    body = county_list(client, w).json()
    assert body["window"] >= 1
    assert body["model_version"]
    by_profile = {i["profile_id"]: i for i in body["items"]}
    b = by_profile[w.profiles["talent_b"]]
    assert b["profile_name"] == "李春明"
    assert b["note"] == "我做过苏打盐渍土治理"
    assert b["status"] == "active"
    assert by_profile[w.profiles["talent_a"]]["status"] == "withdrawn"
    # Active first.
    assert [i["status"] for i in body["items"]] == ["active", "withdrawn"]

    matches = client.get(
        f"/api/v1/needs/{w.need_id}/matches", params={"limit": 50}, headers=w.h["county"]
    ).json()["items"]
    ranks = {m["profile_id"]: m for m in matches}
    # The rank on the county's list is the person's place on the need's match list.
    assert b["rank"] == ranks[w.profiles["talent_b"]]["rank"]
    assert b["score"] == pytest.approx(ranks[w.profiles["talent_b"]]["score"])
    assert ranks[w.profiles["talent_b"]]["interested"] is True
    assert ranks[w.profiles["talent_a"]]["interested"] is False  # withdrawn


def test_rank_is_null_for_someone_off_the_list(client: TestClient, placed: Placed) -> None:
    w = placed
    assert express(client, w, who="talent_b").status_code == 201
    # Capacity used up: the person leaves the match list, and the interest stays listed.
    r = client.patch(
        f"/api/v1/profiles/{w.profiles['talent_b']}", json={"capacity": 1}, headers=w.h["talent_b"]
    )
    assert r.status_code == 200
    other = client.post(
        "/api/v1/needs",
        headers=w.h["county"],
        json=need_payload(county_code="220822", title="水稻育秧", headcount=2),
    ).json()["id"]
    pid = client.post(
        "/api/v1/placements",
        json={"need_id": other, "profile_id": w.profiles["talent_b"], "reason": "试验"},
        headers=w.h["county"],
    ).json()["id"]
    accepted = client.post(f"/api/v1/placements/{pid}/accept", headers=w.h["talent_b"])
    assert accepted.status_code == 200, accepted.json()
    [item] = county_list(client, w).json()["items"]
    assert item["rank"] is None
    assert item["score"] is None


def test_county_officers_are_notified_once(client: TestClient, db: Session, placed: Placed) -> None:
    w = placed
    officer = w.accounts["county"]
    assert express(client, w, note="可以远程指导").status_code == 201
    rows = db.exec(select(Notification).where(Notification.account_id == officer.id)).all()
    assert [(n.kind, n.link) for n in rows] == [
        ("interest.created", f"/needs/{w.need_id}/interests")
    ]
    assert "王立新" in rows[0].body
    assert "可以远程指导" in rows[0].body
    # Another county's officer hears nothing.
    other = w.accounts["county_other"]
    assert not db.exec(select(Notification).where(Notification.account_id == other.id)).all()
    # Withdrawing and expressing again does not notify a second time.
    client.delete(interest_url(w), headers=w.h["talent_a"])
    assert express(client, w).status_code == 200
    again = db.exec(select(Notification).where(Notification.account_id == officer.id)).all()
    assert len(again) == 1


def test_proposal_from_an_interest_records_it(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    interest_id = express(client, w, who="talent_b").json()["id"]
    r = propose(client, w, who="talent_b", interest_id=interest_id, reason="本人主动表达意向")
    assert r.status_code == 201, r.json()
    assert r.json()["interest_id"] == interest_id
    placement = db.get(Placement, r.json()["id"])
    assert placement is not None
    assert placement.interest_id == interest_id
    event = db.exec(
        select(AuditEvent).where(
            AuditEvent.action == "placement.propose", AuditEvent.entity_id == str(placement.id)
        )
    ).one()
    assert json.loads(event.after or "{}")["interest_id"] == interest_id


def test_proposal_with_someone_elses_or_a_withdrawn_interest_is_refused(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    a_interest = express(client, w, who="talent_a").json()["id"]
    b_interest = express(client, w, who="talent_b").json()["id"]
    # talent_b's proposal with talent_a's interest.
    r = propose(client, w, who="talent_b", interest_id=a_interest, reason="试")
    assert r.status_code == 422
    assert r.json()["field"] == "interest_id"
    assert r.json()["code"] == "interest_invalid"
    # An interest that does not exist.
    r = propose(client, w, who="talent_b", interest_id=987654, reason="试")
    assert (r.status_code, r.json()["field"]) == (422, "interest_id")
    # A withdrawn interest.
    client.delete(interest_url(w), headers=w.h["talent_b"])
    r = propose(client, w, who="talent_b", interest_id=b_interest, reason="试")
    assert (r.status_code, r.json()["field"]) == (422, "interest_id")
    assert "撤回" in r.json()["message"]
    # An interest in another need.
    other = client.post(
        "/api/v1/needs", headers=w.h["county"], json=need_payload(county_code="220822")
    ).json()["id"]
    other_interest = client.post(f"/api/v1/needs/{other}/interest", headers=w.h["talent_a"]).json()[
        "id"
    ]
    r = propose(client, w, who="talent_a", interest_id=other_interest, reason="试")
    assert (r.status_code, r.json()["field"]) == (422, "interest_id")
    assert not db.exec(select(Placement).where(Placement.need_id == w.need_id)).all()
    assert db.exec(select(Interest).where(Interest.need_id == w.need_id)).all()
