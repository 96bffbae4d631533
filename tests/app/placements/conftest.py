"""A small county world for placement tests: two counties, talents with profiles, a need."""

from dataclasses import dataclass
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.models import Account
from tests.app.factories import auth, make_account, need_payload, profile_payload


@dataclass
class Placed:
    h: dict[str, dict[str, str]]  # role -> headers
    accounts: dict[str, Account]
    need_id: int
    profiles: dict[str, int]  # talent role -> profile id


def post_profile(client: TestClient, headers: dict[str, str], **overrides: Any) -> int:
    r = client.post("/api/v1/profiles", json=profile_payload(**overrides), headers=headers)
    assert r.status_code == 201, r.json()
    return int(r.json()["id"])


@pytest.fixture
def placed(client: TestClient, db: Session, settings: Any) -> Placed:
    accounts = {
        "admin": make_account(db, "admin"),
        "province": make_account(db, "province"),
        "county": make_account(db, "county", "220822"),  # 通榆县
        "county_other": make_account(db, "county", "220322"),  # 梨树县
        "talent_a": make_account(db, "talent"),
        "talent_b": make_account(db, "talent"),
    }
    h = {role: auth(acc, settings) for role, acc in accounts.items()}
    profiles = {
        "talent_a": post_profile(
            client,
            h["talent_a"],
            name="王立新",
            capacity=1,
            contact={"phone": "13811112222", "email": "wang@example.cn"},
        ),
        "talent_b": post_profile(
            client,
            h["talent_b"],
            name="李春明",
            capacity=2,
            expertise="盐碱地水稻种植与苏打盐渍土治理，擅长以水洗盐与耐盐品种搭配。",
            contact={"phone": "13833334444", "email": "li@example.cn"},
        ),
    }
    need = client.post(
        "/api/v1/needs",
        headers=h["county"],
        json=need_payload(
            county_code="220822",
            title="碱巴拉地返碱死苗",
            headcount=1,
            description="我县西部乡镇碱巴拉地多，春天返碱严重，玉米水稻死苗，需要盐碱地改良专家。",
            industry="盐碱地治理",
        ),
    )
    assert need.status_code == 201, need.json()
    return Placed(h=h, accounts=accounts, need_id=need.json()["id"], profiles=profiles)


def propose(client: TestClient, w: Placed, who: str = "talent_a", **extra: Any) -> Any:
    body = {"need_id": w.need_id, "profile_id": w.profiles[who], **extra}
    return client.post("/api/v1/placements", json=body, headers=w.h["county"])


REPORT = {
    "period": "2027年4月",
    "service_days": 6,
    "trainings": 40,
    "problems_solved": 2,
    "techniques_promoted": 1,
    "jobs_created": 3,
    "text": "现场测土并制定改良方案，培训农户 40 人次。",
}
