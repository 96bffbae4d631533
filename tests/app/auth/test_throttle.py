"""Sign-in and registration limits: per account and address, per account, per address."""

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.audit.models import AuditEvent
from app.auth import service
from app.auth.clients import address_group
from app.config import Settings
from tests.app.factories import PASSWORD, make_account, page_sign_in, run_coroutine
from tests.conftest import BACKENDS, Databases, migrated_engine

WRONG = "Wrong-guess-17"


@pytest.fixture
def limited(app: FastAPI, settings: Settings) -> Iterator[FastAPI]:
    """The app with small limits, so that a test reaches them in a few (argon2-priced) tries."""
    app.state.settings = settings.model_copy(
        update={
            "login_max_failures": 3,
            "login_account_max_failures": 5,
            "login_address_max_failures": 6,
            "register_address_max": 2,
        }
    )
    yield app
    app.state.settings = settings


def _login(c: TestClient, username: str, password: str, **headers: str) -> Any:
    return c.post(
        "/api/v1/auth/token", data={"username": username, "password": password}, headers=headers
    )


def _is_throttled(r: Any) -> bool:
    if r.status_code != 429:
        return False
    assert int(r.headers["Retry-After"]) > 0
    assert any("\u4e00" <= ch <= "\u9fff" for ch in r.json()["message"])
    return True


def test_a_forged_forwarded_for_does_not_unlock_a_locked_account(
    limited: FastAPI, db: Session
) -> None:
    make_account(db, "talent", username="locked")
    with TestClient(limited, client=("127.0.0.1", 5000)) as c:
        for _ in range(3):
            assert _login(c, "locked", WRONG).status_code == 401
        assert _is_throttled(_login(c, "locked", PASSWORD))
        forged = _login(c, "locked", PASSWORD, **{"X-Forwarded-For": "203.0.113.9"})
        assert _is_throttled(forged)


def test_forwarded_for_is_read_only_from_trusted_proxies(limited: FastAPI, db: Session) -> None:
    limited.state.settings = limited.state.settings.model_copy(
        update={"trusted_proxies": "10.8.0.0/16, 10.9.0.1"}
    )
    make_account(db, "talent", username="behindproxy")
    with TestClient(limited, client=("10.8.3.4", 5000)) as proxy:
        for _ in range(3):
            r = _login(proxy, "behindproxy", WRONG, **{"X-Forwarded-For": "203.0.113.1"})
            assert r.status_code == 401
        locked = _login(proxy, "behindproxy", PASSWORD, **{"X-Forwarded-For": "203.0.113.1"})
        assert _is_throttled(locked)
        # Another person behind the same proxy is another client.
        other = _login(proxy, "behindproxy", PASSWORD, **{"X-Forwarded-For": "203.0.113.2"})
        assert other.status_code == 200
        # Through two trusted proxies the client is the first untrusted hop from the right;
        # what the client wrote itself (leftmost) is not believed.
        chained = _login(
            proxy,
            "behindproxy",
            PASSWORD,
            **{"X-Forwarded-For": "203.0.113.2, 203.0.113.1, 10.9.0.1"},
        )
        assert _is_throttled(chained)


def test_each_account_is_throttled_whatever_the_address(limited: FastAPI, db: Session) -> None:
    make_account(db, "talent", username="popular")
    for n in range(5):
        with TestClient(limited, client=(f"198.51.100.{n + 1}", 5000)) as c:
            assert _login(c, "popular", WRONG).status_code == 401
    with TestClient(limited, client=("198.51.100.99", 5000)) as fresh:
        assert _is_throttled(_login(fresh, "popular", PASSWORD))


def test_password_spraying_from_one_address_is_limited(limited: FastAPI, db: Session) -> None:
    make_account(db, "talent", username="sprayed")
    with TestClient(limited, client=("192.0.2.7", 5000)) as c:
        for n in range(6):
            assert _login(c, f"guess{n}", WRONG).status_code == 401
        r = _login(c, "sprayed", PASSWORD)
        assert _is_throttled(r)
        assert r.json()["code"] == "too_many_attempts"
    # Other addresses are not affected.
    with TestClient(limited, client=("192.0.2.8", 5000)) as c:
        assert _login(c, "sprayed", PASSWORD).status_code == 200


def test_refused_sign_ins_write_a_bounded_number_of_audit_events(
    limited: FastAPI, db: Session
) -> None:
    """An attacker without an account must not grow the audit trail at the rate refusals are
    answered: the 1st, 2nd, 4th, 8th … refusal of a full limit's window is recorded, each with
    the count so far, and the chain still verifies."""
    with TestClient(limited, client=("192.0.2.30", 5000)) as c:
        for n in range(6):  # the address limit (6) is used up by failures
            assert _login(c, f"spray{n}", WRONG).status_code == 401
        for n in range(20):
            assert _is_throttled(_login(c, f"spray-late{n}", WRONG))
    db.expire_all()
    events = db.exec(
        select(AuditEvent)
        .where(AuditEvent.action == "auth.login_throttled")
        .order_by(col(AuditEvent.seq))
    ).all()
    contexts = [json.loads(e.context or "{}") for e in events]
    assert [ctx["refused"] for ctx in contexts] == [1, 2, 4, 8, 16]
    assert {ctx["limit"] for ctx in contexts} == {"address"}
    assert {ctx["client"] for ctx in contexts} == {"192.0.2.30"}
    assert [e.actor_username for e in events] == [f"spray-late{n}" for n in (0, 1, 3, 7, 15)]
    failed = db.exec(select(AuditEvent).where(AuditEvent.action == "auth.login_failed")).all()
    assert len(failed) == 6  # every failure that was checked is still recorded
    assert audit.verify(db).ok
    # the province reads what was refused, and how often, on the audit page
    make_account(db, "province", username="auditor")
    with TestClient(limited, client=("192.0.2.31", 5000)) as office:
        page_sign_in(office, "auditor")
        page = office.get(
            "/audit/events", params={"action": "auth.login_throttled", "sign_ins": "1"}
        ).text
    assert page.count('<td data-label="动作">登录受限（失败次数过多）') == 5
    assert "触发的限制：同一地址的失败次数" in page
    assert "本时段累计拒绝次数：16" in page


def test_successful_sign_ins_do_not_use_up_the_address_limit(limited: FastAPI, db: Session) -> None:
    for n in range(8):
        make_account(db, "talent", username=f"villager{n}")
    with TestClient(limited, client=("192.0.2.20", 5000)) as office:
        for n in range(8):
            assert _login(office, f"villager{n}", PASSWORD).status_code == 200


def test_registration_is_limited_per_address(limited: FastAPI) -> None:
    with TestClient(limited, client=("192.0.2.30", 5000)) as c:
        for n in range(2):
            body = {"username": f"drive{n}", "password": "Meihekou-rice-2027"}
            assert c.post("/api/v1/auth/register", json=body).status_code == 201
        r = c.post(
            "/api/v1/auth/register", json={"username": "drive9", "password": "Meihekou-rice-2027"}
        )
        assert _is_throttled(r)
        assert r.json()["code"] == "too_many_registrations"
    with TestClient(limited, client=("192.0.2.31", 5000)) as other:
        body = {"username": "drive9", "password": "Meihekou-rice-2027"}
        assert other.post("/api/v1/auth/register", json=body).status_code == 201


def test_refused_registrations_do_not_use_up_the_address_limit(
    limited: FastAPI, db: Session
) -> None:
    make_account(db, "talent", username="already")
    with TestClient(limited, client=("192.0.2.40", 5000)) as c:
        for _ in range(3):
            body = {"username": "already", "password": "Meihekou-rice-2027"}
            assert c.post("/api/v1/auth/register", json=body).status_code == 409
        body = {"username": "newcomer", "password": "Meihekou-rice-2027"}
        assert c.post("/api/v1/auth/register", json=body).status_code == 201


def test_passwords_are_verified_outside_any_transaction(
    client: TestClient, db: Session, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Argon2 takes ~0.1 s and 64 MiB: no lock or transaction may be held meanwhile."""
    make_account(db, "talent", username="timed")
    seen: list[tuple[str, bool]] = []
    real = service.verify_password

    def spy(password: str, password_hash: str) -> bool:
        seen.append((password_hash, db.in_transaction()))
        return real(password, password_hash)

    monkeypatch.setattr(service, "verify_password", spy)
    assert _login(client, "timed", WRONG).status_code == 401
    assert _login(client, "nosuchname", WRONG).status_code == 401
    assert _login(client, "timed", PASSWORD).status_code == 200
    assert len(seen) == 3
    assert [in_tx for _, in_tx in seen] == [False, False, False]
    # An unknown name costs a real argon2 check too, so names cannot be told apart by time.
    assert seen[1][0].startswith("$argon2id$")
    assert seen[1][0] != seen[0][0]


@pytest.fixture(params=BACKENDS)
def own_engine(request: pytest.FixtureRequest, databases: Databases) -> Iterator[Engine]:
    """A database of the test's own, for sign-ins that commit for real (their audit events
    would otherwise stay in the session's database for the tests after)."""
    engine = migrated_engine(databases, request.param)
    yield engine
    engine.dispose()


def test_a_process_runs_sign_in_transactions_one_at_a_time_addresses_in_turn(
    own_engine: Engine, settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each sign-in writes (the limits, then the outcome). A burst of failed sign-ins from one
    address once sent all its transactions at the database's write lock together, ahead of
    everybody else's writes (bench/bench_load.py: others' p95 16-20 x one client's p50 on
    SQLite). They now run one at a time per process, and a sign-in from another address waits
    for the one running and one more of the burst, not for all of it."""
    limits = settings.model_copy(update={"login_address_max_failures": 1})
    order: list[str] = []
    running = most = 0
    lock = threading.Lock()
    real = service._start

    def counted(session: Session, *, username: str, client: str, settings: Settings) -> Any:
        nonlocal running, most
        with lock:
            running += 1
            most = max(most, running)
            order.append(client)
        time.sleep(0.02)  # long enough for the others to pile up if they could
        try:
            return real(session, username=username, client=client, settings=settings)
        finally:
            with lock:
                running -= 1

    monkeypatch.setattr(service, "_start", counted)

    async def one(username: str, client: str) -> service.LoginOutcome:
        with Session(own_engine, expire_on_commit=False) as session:
            return await service.sign_in(
                session, username=username, password=WRONG, client=client, settings=limits
            )

    async def scenario() -> list[service.LoginOutcome]:
        burst = [asyncio.create_task(one(f"nobody{i}", "192.0.2.7")) for i in range(8)]
        await asyncio.sleep(0.005)  # the first of the burst is running, the rest wait
        other = asyncio.create_task(one("officer", "198.51.100.4"))
        return await asyncio.gather(*burst, other)

    outcomes = run_coroutine(scenario)
    assert most == 1, order
    assert order.index("198.51.100.4") <= 2, order
    # the limits still hold: the address's one failure, then refusals; the other address's own
    assert [o.retry_after is None for o in outcomes] == [True] + [False] * 7 + [True]


def test_ipv6_clients_are_counted_per_slash_64() -> None:
    assert address_group("2001:db8:1:2:aaaa::1") == address_group("2001:db8:1:2:bbbb::9")
    assert address_group("2001:db8:1:2::1") != address_group("2001:db8:1:3::1")
    assert address_group("::ffff:192.0.2.1") == "192.0.2.1"
    assert address_group("198.51.100.4") == "198.51.100.4"


def test_trusted_proxies_must_be_addresses_or_networks() -> None:
    with pytest.raises(ValueError, match="XIANGCAI_TRUSTED_PROXIES"):
        Settings(trusted_proxies="10.0.0.1, proxy.example")
    assert len(Settings(trusted_proxies="10.0.0.1, 172.16.0.0/12").trusted_proxy_networks) == 2
    assert Settings().trusted_proxy_networks == ()
