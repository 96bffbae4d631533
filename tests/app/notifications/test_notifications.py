"""Notifications: who hears of each step of a placement, reading them, and their outbox rows."""

from datetime import timedelta

from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import utcnow
from app.notifications import reminders
from app.notifications.models import Notification
from app.outbox.models import OutboxMessage
from app.placements.models import Placement
from tests.app.factories import make_account
from tests.app.placements.conftest import REPORT, Placed, propose


def inbox(client: TestClient, w: Placed, who: str, **params: object) -> dict:  # type: ignore[type-arg]
    r = client.get("/api/v1/notifications", params=params, headers=w.h[who])
    assert r.status_code == 200, r.json()
    return r.json()  # type: ignore[no-any-return]


def kinds(client: TestClient, w: Placed, who: str) -> list[str]:
    return [n["kind"] for n in inbox(client, w, who)["items"]]


def step(client: TestClient, w: Placed, pid: int, action: str, who: str, **body: object) -> None:
    r = client.post(f"/api/v1/placements/{pid}/{action}", json=body or None, headers=w.h[who])
    assert r.status_code == 200, r.json()


def test_each_step_reaches_the_other_side(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    talent = inbox(client, w, "talent_a")
    assert talent["unread"] == 1
    (n,) = talent["items"]
    assert n["kind"] == "placement.proposed"
    assert "通榆县" in n["title"]
    assert "碱巴拉地返碱死苗" in n["title"]
    assert n["link"] == f"/placements/{pid}"
    assert n["read_at"] is None
    # The county made the proposal: it is not told of its own step; the other county hears nothing.
    assert kinds(client, w, "county") == []
    assert kinds(client, w, "county_other") == []
    assert kinds(client, w, "talent_b") == []

    step(client, w, pid, "accept", "talent_a")
    assert kinds(client, w, "county") == ["placement.accepted"]
    step(client, w, pid, "start", "county")
    assert kinds(client, w, "talent_a")[0] == "placement.started"
    assert kinds(client, w, "county")[0] == "placement.started"
    client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["talent_a"])
    step(client, w, pid, "complete", "county")
    assert kinds(client, w, "talent_a") == [
        "placement.completed",
        "placement.started",
        "placement.proposed",
    ]
    assert kinds(client, w, "county") == [
        "placement.completed",
        "placement.started",
        "placement.accepted",
    ]


def test_a_decline_tells_the_county_why(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    r = client.post(
        f"/api/v1/placements/{pid}/decline",
        json={"reason_code": "distance", "reason": "家在长春，每周往返困难"},
        headers=w.h["talent_a"],
    )
    assert r.status_code == 200, r.json()
    assert r.json()["decline_code"] == "distance"
    assert r.json()["decline_label"] == "路途太远"
    (n,) = inbox(client, w, "county")["items"]
    assert n["kind"] == "placement.declined"
    assert "路途太远" in n["body"]
    assert "每周往返困难" in n["body"]
    assert n["link"] == f"/needs/{w.need_id}/matches"


def test_decline_needs_a_reason(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    url = f"/api/v1/placements/{pid}/decline"
    r = client.post(url, json={}, headers=w.h["talent_a"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason_code"
    r = client.post(url, json={"reason_code": "other"}, headers=w.h["talent_a"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "reason"
    assert "其他" in r.json()["errors"][0]["message"]
    r = client.post(url, json={"reason_code": "busy"}, headers=w.h["talent_a"])
    assert r.status_code == 422
    # Nothing was written by the refused attempts: still proposed, the county told nothing.
    assert client.get(f"/api/v1/placements/{pid}", headers=w.h["county"]).json()["status"] == (
        "proposed"
    )
    assert kinds(client, w, "county") == []


def test_cancel_tells_both_sides_and_a_refused_step_tells_nobody(
    client: TestClient, placed: Placed
) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    # Starting before the person accepted is illegal: no notice may come of it.
    r = client.post(f"/api/v1/placements/{pid}/start", headers=w.h["county"])
    assert r.status_code == 409
    assert kinds(client, w, "talent_a") == ["placement.proposed"]
    step(client, w, pid, "cancel", "county", reason="县里调整计划")
    assert kinds(client, w, "talent_a")[0] == "placement.cancelled"
    assert kinds(client, w, "county") == ["placement.cancelled"]
    (n,) = inbox(client, w, "county")["items"]
    assert "县里调整计划" in n["body"]


def test_every_officer_of_the_county_hears(
    client: TestClient, db: Session, placed: Placed, settings: Settings
) -> None:
    w = placed
    second = make_account(db, "county", "220822")
    gone = make_account(db, "county", "220822")
    gone.active = False
    db.add(gone)
    db.commit()
    pid = propose(client, w).json()["id"]
    step(client, w, pid, "accept", "talent_a")
    got = db.exec(
        select(Notification.account_id).where(Notification.kind == "placement.accepted")
    ).all()
    assert sorted(got) == sorted([w.accounts["county"].id, second.id])


def test_reading_one_all_and_only_ones_own(client: TestClient, placed: Placed) -> None:
    w = placed
    for who in ("talent_a", "talent_b"):
        propose(client, w, who=who)
    mine = inbox(client, w, "talent_a")["items"][0]
    theirs = inbox(client, w, "talent_b")["items"][0]
    r = client.post(f"/api/v1/notifications/{theirs['id']}/read", headers=w.h["talent_a"])
    assert r.status_code == 404
    assert r.json()["field"] == "notification_id"
    assert inbox(client, w, "talent_b")["unread"] == 1
    r = client.post(f"/api/v1/notifications/{mine['id']}/read", headers=w.h["talent_a"])
    assert r.status_code == 200
    assert r.json()["read_at"] is not None
    assert inbox(client, w, "talent_a", unread="true")["items"] == []
    assert len(inbox(client, w, "talent_a", unread="false")["items"]) == 1
    r = client.post("/api/v1/notifications/read-all", headers=w.h["talent_b"])
    assert r.json() == {"marked": 1}
    assert inbox(client, w, "talent_b")["unread"] == 0
    r = client.get("/api/v1/notifications", params={"page_size": 500}, headers=w.h["talent_a"])
    assert r.status_code == 422
    assert client.get("/api/v1/notifications").status_code == 401


def test_newest_first_and_paginated(client: TestClient, placed: Placed) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    step(client, w, pid, "cancel", "county", reason="重新安排")
    assert propose(client, w, repeat=True).status_code == 201
    first = inbox(client, w, "talent_a", page_size=2)
    assert first["total"] == 3
    assert [n["kind"] for n in first["items"]] == ["placement.proposed", "placement.cancelled"]
    assert first["items"][0]["id"] > first["items"][1]["id"]
    rest = inbox(client, w, "talent_a", page_size=2, page=2)
    assert [n["kind"] for n in rest["items"]] == ["placement.proposed"]


def test_outbox_follows_the_persons_channels(
    client: TestClient, db: Session, placed: Placed
) -> None:
    w = placed
    # talent_a has no address of their own: their profile's e-mail is used; SMS is off.
    pid = propose(client, w).json()["id"]
    rows = db.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert [(m.channel, m.address, m.status) for m in rows] == [
        ("email", "wang@example.cn", "pending")
    ]
    assert rows[0].delivery_key.startswith("notification-")
    assert rows[0].link == f"/placements/{pid}"
    # The person turns e-mail off, SMS on, with a number of their own.
    r = client.put(
        "/api/v1/notifications/settings",
        json={"phone": "13900001111", "notify_email": False, "notify_sms": True},
        headers=w.h["talent_a"],
    )
    assert r.status_code == 200, r.json()
    assert r.json()["phone_used"] == "13900001111"
    assert r.json()["email_used"] == "wang@example.cn"
    step(client, w, pid, "cancel", "county", reason="重新安排")
    rows = db.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
    assert [(m.channel, m.address) for m in rows[1:]] == [("sms", "13900001111")]
    assert rows[1].body.startswith("【乡才通】")


def test_channel_settings_refuse_bad_addresses(client: TestClient, placed: Placed) -> None:
    w = placed
    r = client.put(
        "/api/v1/notifications/settings",
        json={"email": "不是邮箱", "notify_email": True},
        headers=w.h["county"],
    )
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "email"
    r = client.put("/api/v1/notifications/settings", json={"phone": "12345"}, headers=w.h["county"])
    assert r.status_code == 422
    assert r.json()["errors"][0]["field"] == "phone"
    r = client.get("/api/v1/notifications/settings", headers=w.h["county"])
    assert r.json()["email"] is None
    assert r.json()["delivery"] == []


def test_reminders_come_once_when_due(
    client: TestClient, db: Session, placed: Placed, settings: Settings
) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    now = utcnow()
    assert reminders.sweep(db, settings, now) == 0  # nothing is due yet
    # A week later the proposal is still unanswered; the need had its proposal, so no need
    # reminder; nothing is active, so no report reminder.
    later = now + timedelta(days=settings.reminder_proposal_days, minutes=1)
    assert reminders.sweep(db, settings, later) == 1
    db.commit()
    assert reminders.sweep(db, settings, later + timedelta(hours=1)) == 0
    db.commit()
    assert kinds(client, w, "talent_a")[0] == "reminder.proposal_unanswered"

    step(client, w, pid, "accept", "talent_a")
    step(client, w, pid, "start", "county")
    month = later + timedelta(days=settings.reminder_report_days, minutes=1)
    written = reminders.sweep(db, settings, month)
    db.commit()
    assert written == 2  # the person and the county's officer
    assert kinds(client, w, "county")[0] == "reminder.report_overdue"
    # A report resets the clock: no reminder until another period has passed since it.
    client.post(f"/api/v1/placements/{pid}/reports", json=REPORT, headers=w.h["talent_a"])
    assert reminders.sweep(db, settings, month + timedelta(days=1)) == 0


def test_an_unproposed_need_is_reminded_to_its_county(
    client: TestClient, db: Session, placed: Placed, settings: Settings
) -> None:
    w = placed
    later = utcnow() + timedelta(days=settings.reminder_need_days, minutes=1)
    assert reminders.sweep(db, settings, later) == 1
    db.commit()
    (n,) = inbox(client, w, "county")["items"]
    assert n["kind"] == "reminder.need_unproposed"
    assert n["link"] == f"/needs/{w.need_id}/matches"


def test_an_offline_persons_unanswered_proposal_goes_to_the_county(
    client: TestClient, db: Session, placed: Placed, settings: Settings
) -> None:
    w = placed
    pid = propose(client, w).json()["id"]
    placement = db.get(Placement, pid)
    assert placement is not None
    # The person's account goes away (as for someone imported without one).
    account = w.accounts["talent_a"]
    account.active = False
    db.add(account)
    db.commit()
    later = utcnow() + timedelta(days=settings.reminder_proposal_days, minutes=1)
    assert reminders.sweep(db, settings, later) == 1
    db.commit()
    (n,) = inbox(client, w, "county")["items"]
    assert n["kind"] == "reminder.proposal_unanswered"
    assert "线下联系" in n["body"]
