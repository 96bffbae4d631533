"""Invisible characters that change how text reads (bidirectional overrides, zero-width
characters) are refused in names and titles like other control characters."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session, select

from app.needs.models import Need
from app.profiles.models import Profile
from tests.app.factories import auth, make_account, need_payload, profile_payload
from tests.app.imports.test_import import GOOD, HEADER, upload

INVISIBLE = [
    "\u202e",  # right-to-left override: "文件‮txt.exe" displays reversed
    "\u202a",
    "\u202d",
    "\u2066",
    "\u2069",
    "\u200b",  # zero-width space: two names that look the same differ
    "\u200c",
    "\u200d",
    "\u2060",
    "\ufeff",
]


@pytest.fixture
def admin(db: Session, settings: Any) -> dict[str, str]:
    return auth(make_account(db, "admin"), settings)


@pytest.mark.parametrize("char", INVISIBLE, ids=lambda c: f"U+{ord(c):04X}")
def test_need_title_with_invisible_character_is_refused(
    client: TestClient, db: Session, admin: dict[str, str], char: str
) -> None:
    r = client.post("/api/v1/needs", json=need_payload(title=f"玉米{char}秸秆还田"), headers=admin)
    assert r.status_code == 422, r.json()
    assert r.json()["field"] == "title"
    assert r.json()["errors"][0]["code"] == "value_error"
    assert "标题" in r.json()["message"]
    assert "控制字符" in r.json()["message"]
    assert db.exec(select(Need)).all() == []


@pytest.mark.parametrize("char", ["\u202e", "\u200b", "\u2067"], ids=lambda c: f"U+{ord(c):04X}")
def test_profile_name_with_invisible_character_is_refused(
    client: TestClient, db: Session, admin: dict[str, str], char: str
) -> None:
    r = client.post("/api/v1/profiles", json=profile_payload(name=f"王{char}立新"), headers=admin)
    assert r.status_code == 422, r.json()
    assert r.json()["field"] == "name"
    assert "姓名" in r.json()["message"]
    assert db.exec(select(Profile)).all() == []


def test_ordinary_names_still_pass(client: TestClient, admin: dict[str, str]) -> None:
    r = client.post("/api/v1/profiles", json=profile_payload(name="阿依古丽·买买提"), headers=admin)
    assert r.status_code == 201, r.json()


def test_bulk_import_refuses_invisible_characters(
    client: TestClient, db: Session, admin: dict[str, str]
) -> None:
    rows = [GOOD[0].replace("李春明", "李\u202e春明"), GOOD[1].replace("王海燕", "王\u200b海燕")]
    r = upload(client, admin, "profiles", "名单.csv", (HEADER + "\n".join(rows)).encode())
    assert r.status_code == 422, r.json()
    rejected = r.json()["report"]["rejected"]
    assert [(e["row"], e["field"], e["column"]) for e in rejected] == [
        (2, "name", "姓名"),
        (3, "name", "姓名"),
    ]
    assert db.exec(select(Profile)).all() == []
