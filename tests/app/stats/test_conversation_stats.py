"""The conversation's figures agree with a known set of proposals, interests and invitations."""

import itertools
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.actor import Actor
from app.db import utcnow
from app.interests.models import Interest
from app.invitations.models import Invitation
from app.invitations.service import hash_code
from app.needs import service as needs
from app.needs.schemas import NeedCreate
from app.placements.models import Placement
from app.profiles import service as profiles
from app.profiles.schemas import ProfileCreate
from app.stats import service
from tests.app.factories import PASSWORD, auth, make_account, need_payload, profile_payload

BEIJING = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def known(db: Session, settings: Any) -> dict[str, Any]:
    """Proposals three days ago (answered after 2, 10, 30, 4 and 100 hours; one waiting, one
    withdrawn by the county) and one two months ago answered after an hour; interests and
    invitations in and before the period."""
    system = Actor.system("test")
    people = [
        profiles.create(
            db,
            data=ProfileCreate(**profile_payload(name=f"专家{i}", contact={})),
            actor=system,
        )
        for i in range(4)
    ]
    need = needs.create(db, data=NeedCreate(**need_payload(county_code="220822")), actor=system)
    db.commit()
    assert need.id is not None
    now = utcnow()
    recent, old = now - timedelta(days=3), now - timedelta(days=60)

    def interest(i: int, at: datetime, status: str = "active") -> Interest:
        row = Interest(
            need_id=need.id, profile_id=people[i].id, status=status, created_at=at, updated_at=at
        )
        db.add(row)
        db.flush()
        return row

    first = interest(0, recent)
    interest(1, recent, status="withdrawn")
    interest(2, recent)
    interest(3, old)

    def placement(at: datetime, **fields: Any) -> None:
        db.add(
            Placement(
                need_id=need.id,
                profile_id=people[0].id,
                county_code="220822",
                program="science_commissioner",
                created_at=at,
                updated_at=at,
                **fields,
            )
        )

    hours = timedelta(hours=1)
    placement(recent, status="accepted", accepted_at=recent + 2 * hours, interest_id=first.id)
    placement(recent, status="completed", accepted_at=recent + 10 * hours)
    placement(recent, status="declined", declined_at=recent + 30 * hours, decline_code="distance")
    placement(recent, status="declined", declined_at=recent + 4 * hours, decline_code="distance")
    placement(recent, status="declined", declined_at=recent + 100 * hours)
    placement(recent, status="proposed")
    placement(recent, status="cancelled", cancel_reason="需求调整")
    placement(old, status="accepted", accepted_at=old + hours)

    codes = itertools.count()

    def invitation(at: datetime, n: int, **fields: Any) -> None:
        expires = fields.pop("expires_at", at + timedelta(days=7))
        db.add(
            Invitation(
                profile_id=people[n].id,
                code_hash=hash_code(f"CODE{next(codes)}"),
                created_at=at,
                expires_at=expires,
                **fields,
            )
        )

    invitation(recent, 0, claimed_at=recent + hours)
    invitation(recent, 1, revoked_at=recent + hours)
    invitation(recent, 1)  # open: expires in four days
    invitation(recent, 2, expires_at=now - hours)
    invitation(old, 3)  # long expired, before the period
    db.commit()
    return {
        "from": (now - timedelta(days=10)).astimezone(BEIJING).date().isoformat(),
        "to": now.astimezone(BEIJING).date().isoformat(),
        "province": auth(make_account(db, "province", username="statsprov"), settings),
        "county": auth(make_account(db, "county", "220822"), settings),
    }


def test_every_figure_of_the_period(client: TestClient, known: dict[str, Any]) -> None:
    r = client.get(
        "/api/v1/stats/conversation",
        params={"from": known["from"], "to": known["to"]},
        headers=known["province"],
    )
    assert r.status_code == 200, r.json()
    body = r.json()
    assert body["answers"] == {
        "proposals": 7,
        "answered": 5,
        "accepted": 2,
        "declined": 3,
        "unanswered": 1,
        "median_hours_to_answer": 10.0,  # of 2, 4, 10, 30, 100
        "median_hours_to_accept": 6.0,  # of 2, 10
        "median_hours_to_decline": 30.0,  # of 4, 30, 100
    }
    reasons = body["decline_reasons"]
    assert reasons[0] == {"code": "distance", "label": "路途太远", "count": 2}
    assert reasons[-1] == {"code": "unspecified", "label": "未说明理由", "count": 1}
    assert sum(r["count"] for r in reasons) == 3
    assert {r["code"] for r in reasons} >= set(service.DECLINE_REASONS)
    assert body["interests"] == {"received": 3, "withdrawn": 1, "proposed": 1}
    assert body["invitations"] == {
        "sent": 4,
        "claimed": 1,
        "open": 1,
        "expired": 1,
        "revoked": 1,
    }


def test_without_dates_everything_counts(client: TestClient, known: dict[str, Any]) -> None:
    body = client.get("/api/v1/stats/conversation", headers=known["province"]).json()
    assert body["answers"]["proposals"] == 8
    assert body["answers"]["median_hours_to_answer"] == 7.0  # of 1, 2, 4, 10, 30, 100
    assert body["interests"]["received"] == 4
    assert body["invitations"]["sent"] == 5
    assert body["invitations"]["expired"] == 2


def test_an_empty_period_has_no_median(client: TestClient, known: dict[str, Any]) -> None:
    body = client.get(
        "/api/v1/stats/conversation",
        params={"from": "2020-01-01", "to": "2020-01-31"},
        headers=known["province"],
    ).json()
    assert body["answers"]["proposals"] == 0
    assert body["answers"]["median_hours_to_answer"] is None
    assert all(r["count"] == 0 for r in body["decline_reasons"])
    assert body["invitations"]["sent"] == 0


def test_only_the_province_and_admins_read_it(client: TestClient, known: dict[str, Any]) -> None:
    assert client.get("/api/v1/stats/conversation", headers=known["county"]).status_code == 403
    bad = client.get(
        "/api/v1/stats/conversation",
        params={"from": "2027-03-02", "to": "2027-03-01"},
        headers=known["province"],
    )
    assert bad.status_code == 422
    assert bad.json()["field"] == "from"


def test_invitations_through_the_api_are_counted(
    client: TestClient, db: Session, settings: Any
) -> None:
    county = auth(make_account(db, "county", "220822"), settings)
    province = auth(make_account(db, "province"), settings)
    pid = profiles.create(
        db, data=ProfileCreate(**profile_payload(name="吴新来")), actor=Actor.system("test")
    ).id
    db.commit()
    first = client.post(f"/api/v1/profiles/{pid}/invitations", headers=county).json()
    second = client.post(f"/api/v1/profiles/{pid}/invitations", headers=county).json()
    assert first["code"] != second["code"]
    claimed = client.post(
        "/api/v1/auth/claim",
        json={"code": second["code"], "username": "wuxinlai", "password": "Heitudi2027"},
    )
    assert claimed.status_code == 201
    body = client.get("/api/v1/stats/conversation", headers=province).json()
    assert body["invitations"] == {"sent": 2, "claimed": 1, "open": 0, "expired": 0, "revoked": 1}


def test_the_statistics_page_shows_the_conversation(app: FastAPI, known: dict[str, Any]) -> None:
    with TestClient(app) as c:
        form = c.get("/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', form)
        assert token
        c.post(
            "/login",
            data={"username": "statsprov", "password": PASSWORD, "csrf_token": token.group(1)},
        )
        page = c.get("/stats", params={"from": known["from"], "to": known["to"]})
        assert page.status_code == 200
        section = page.text[page.text.index('id="conversation-head"') :]
        assert "10.0 小时" in section  # the median from proposal to answer
        assert "5 / 7" in section
        assert "路途太远" in section
        assert "1 / 4" in section  # invitations claimed / sent
        assert "未说明理由" in section
