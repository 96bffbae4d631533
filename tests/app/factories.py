"""Builders for test data. Accounts are inserted directly with one shared, real argon2 hash
(hashing costs ~0.1 s; the sign-in tests exercise it for real)."""

import asyncio
import itertools
import re
from collections.abc import Callable, Coroutine
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Any, TypeVar

from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.models import Account
from app.auth.security import create_access_token, hash_password
from app.config import Settings

PASSWORD = "Passw0rd123"
_counter = itertools.count(1)


@lru_cache
def _shared_hash() -> str:
    return hash_password(PASSWORD)


def make_account(
    db: Session, role: str, county: str | None = None, username: str | None = None
) -> Account:
    if role == "county" and county is None:
        county = "220322"  # 梨树县
    account = Account(
        username=username or f"{role}{next(_counter)}",
        password_hash=_shared_hash(),
        role=role,
        county_code=county,
        display_name=f"测试{role}",
    )
    db.add(account)
    # Commit releases the test's savepoint: the row survives a request's rollback and is
    # still undone when the test's outer transaction rolls back.
    db.commit()
    return account


def auth(account: Account, settings: Settings) -> dict[str, str]:
    assert account.id is not None
    token = create_access_token(account_id=account.id, role=account.role, settings=settings)
    return {"Authorization": f"Bearer {token}"}


def profile_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "kind": "researcher",
        "name": "王立新",
        "affiliation": "吉林农业大学资源与环境学院",
        "title": "教授",
        "fields": ["盐碱地改良", "水稻"],
        "expertise": "长期从事苏打盐渍土改良研究，擅长脱硫石膏施用与耐盐水稻栽培。",
        "achievements": "主持国家重点研发计划课题 1 项。",
        "hometown_county_code": "220881",
        "availability": "part_time",
        "capacity": 2,
        "preferred_regions": ["west"],
        "contact": {"phone": "13812345678", "email": "wang.lixin@example.cn"},
        "active": True,
    }
    body.update(overrides)
    return body


def need_payload(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "county_code": "220322",
        "program": "science_commissioner",
        "title": "玉米秸秆还田后出苗不齐",
        "description": "全县推广秸秆全量还田，部分地块出苗不齐、苗弱，需要保护性耕作专家现场指导。",
        "industry": "现代农业/玉米种植",
        "headcount": 2,
        "deadline": "2027-03-31",
    }
    body.update(overrides)
    return body


def form_token(html: str) -> str:
    """The CSRF token of a page's forms, as a browser would send it back."""
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "the page has no form token"
    return found.group(1)


def page_sign_in(client: TestClient, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page (the session cookie stays on ``client``)."""
    r = client.post(
        "/login",
        data={
            "username": username,
            "password": password,
            "csrf_token": form_token(client.get("/login").text),
        },
    )
    assert r.status_code == 200, r.text
    assert "/login" not in str(r.url), "the sign-in was refused"


T = TypeVar("T")


def run_coroutine(make: Callable[[], Coroutine[Any, Any, T]]) -> T:
    """Run a test's coroutine on an event loop of its own, in a thread of its own: the test
    process's main thread may already run a loop (Playwright's, when the browser tests ran
    first in the same worker), and asyncio.run refuses to nest."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(make())).result()
