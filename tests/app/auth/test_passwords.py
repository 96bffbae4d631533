"""Common and guessable passwords are refused wherever a password is set."""

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlmodel import Session

from app.auth.passwords import password_problem
from app.config import Settings
from tests.app.factories import auth, make_account, run_coroutine


def _chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("villager", "password1"),  # on the list of the most used passwords
        ("villager", "Password1"),  # ... whatever the case
        ("villager", "qwerty123"),
        ("villager", "Abcdef123"),
        ("villager", "iloveyou1"),
        ("zhangwei", "Zhangwei2026"),  # the user name inside
        ("13812345678", "a13812345678"),  # a phone number used as user name
        ("villager", "a1a1a1a1a1"),  # one short block repeated
        ("villager", "zzzzzzz9"),  # (nearly) all one character
        ("villager", "bcdef6789"),  # runs of the alphabet and the digits
        ("villager", "Zxcvbn789"),  # keyboard rows
        ("villager", "98765zyxw"),  # ... backwards too
    ],
)
def test_registration_refuses_guessable_passwords(
    client: TestClient, username: str, password: str
) -> None:
    r = client.post("/api/v1/auth/register", json={"username": username, "password": password})
    assert r.status_code == 422, r.text
    body = r.json()
    assert body["field"] == "password"
    assert body["code"] == "validation_error"
    assert body["message"].startswith("密码")
    assert _chinese(body["message"])


@pytest.mark.parametrize("password", ["Meihekou-rice-2027", "Lihong2027", "Tonghua-ginseng-9"])
def test_reasonable_passwords_pass(password: str) -> None:
    assert password_problem(password, username="wangfang") is None


def test_admin_cannot_create_an_account_with_a_common_password(
    client: TestClient, db: Session, settings: Settings
) -> None:
    admin = auth(make_account(db, "admin"), settings)
    r = client.post(
        "/api/v1/accounts",
        headers=admin,
        json={"username": "newprov", "password": "password1", "role": "province"},
    )
    assert r.status_code == 422
    assert r.json()["field"] == "password"
    assert _chinese(r.json()["message"])


@pytest.mark.parametrize("password", ["password1", "Changed2026changed", "Changed2026"])
def test_password_change_refuses_guessable_passwords(
    client: TestClient, db: Session, settings: Settings, password: str
) -> None:
    admin = auth(make_account(db, "admin"), settings)
    account = make_account(db, "talent", username="changed")
    r: Any = client.patch(
        f"/api/v1/accounts/{account.id}", headers=admin, json={"password": password}
    )
    assert r.status_code == 422, r.text
    assert r.json()["field"] == "password"
    assert r.json()["message"].startswith("密码")


def test_password_checks_run_at_a_lower_priority_than_requests() -> None:
    """A burst of failed sign-ins must not take the cores from other users' requests."""
    import os

    from app.auth import security
    from app.config import Settings

    settings = Settings(env="test", database_url="sqlite://", password_hash_threads=1)

    def niceness() -> int:
        import threading

        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    inside = run_coroutine(lambda: security.off_the_loop(settings, niceness))
    assert (
        inside == os.getpriority(os.PRIO_PROCESS, 0) + security.PASSWORD_THREAD_NICE or inside == 19
    )


def test_password_work_takes_the_waiting_addresses_in_turn_and_skips_who_left() -> None:
    """One password thread: while a check runs, three more of one address and one of another
    wait; the other address goes second, and a sign-in whose client went away never runs."""
    import asyncio
    import threading

    from app.auth import security
    from app.config import Settings

    settings = Settings(env="test", database_url="sqlite://", password_hash_threads=1)
    ran: list[str] = []
    release = threading.Event()

    def work(name: str) -> str:
        if name == "a1":
            release.wait(30)
        ran.append(name)
        return name

    async def scenario() -> list[str]:
        first = asyncio.create_task(security.off_the_loop(settings, work, "a1", client="a"))
        await asyncio.sleep(0.05)  # a1 holds the thread
        burst = [
            asyncio.create_task(security.off_the_loop(settings, work, f"a{i}", client="a"))
            for i in (2, 3, 4)
        ]
        gone = asyncio.create_task(security.off_the_loop(settings, work, "c1", client="c"))
        other = asyncio.create_task(security.off_the_loop(settings, work, "b1", client="b"))
        await asyncio.sleep(0.05)
        gone.cancel()
        release.set()
        answers = await asyncio.gather(first, *burst, other)
        assert answers == ["a1", "a2", "a3", "a4", "b1"]
        return ran

    assert run_coroutine(scenario) == ["a1", "a2", "b1", "a3", "a4"]
