"""The sign-in throttle counts atomically: many wrong passwords at once, on a real server."""

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import uvicorn
from sqlalchemy import Engine
from sqlmodel import Session

from app.config import Settings
from app.main import create_app
from tests.app.factories import make_account
from tests.conftest import BACKENDS, Databases, migrated_engine

pytestmark = [pytest.mark.concurrency, pytest.mark.slow]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextmanager
def _served(engine: Engine, settings: Settings) -> Iterator[str]:
    app = create_app(settings=settings, engine=engine)
    port = _free_port()
    # The address is the socket's: the service reads X-Forwarded-For itself, from its own
    # list of trusted proxies, so uvicorn must not rewrite it.
    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 60
    while not server.started:
        assert time.time() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=30)


@pytest.fixture(params=BACKENDS)
def live(request: pytest.FixtureRequest, databases: Databases, tmp_path: Any) -> Iterator[str]:
    engine = migrated_engine(databases, request.param)
    with Session(engine) as session:
        make_account(session, "talent", username="raced")
    settings = Settings(env="test", data_dir=tmp_path, database_url=str(engine.url))
    with _served(engine, settings) as base:
        yield base
    engine.dispose()


@pytest.fixture(params=BACKENDS)
def one_hasher(
    request: pytest.FixtureRequest, databases: Databases, tmp_path: Any
) -> Iterator[str]:
    """A live server with a single password thread, so that its queue decides who waits."""
    engine = migrated_engine(databases, request.param)
    with Session(engine) as session:
        make_account(session, "county", username="officer")
    settings = Settings(
        env="test", data_dir=tmp_path, database_url=str(engine.url), password_hash_threads=1
    )
    with _served(engine, settings) as base:
        yield base
    engine.dispose()


def test_thirty_concurrent_wrong_passwords_get_at_most_the_allowed_401s(live: str) -> None:
    n = 30
    barrier = threading.Barrier(n)

    def one(_: int) -> int:
        with httpx.Client(base_url=live, timeout=120) as c:
            barrier.wait()
            data = {"username": "raced", "password": "Wrong-guess-17"}
            return c.post("/api/v1/auth/token", data=data).status_code

    with ThreadPoolExecutor(n) as pool:
        codes = Counter(pool.map(one, range(n)))
    allowed = Settings().login_max_failures
    assert set(codes) <= {401, 429}, codes
    assert codes[401] <= allowed, codes
    assert codes[401] + codes[429] == n
    with httpx.Client(base_url=live) as c:
        data = {"username": "raced", "password": "Passw0rd123"}
        assert c.post("/api/v1/auth/token", data=data).status_code == 429


def test_a_burst_from_one_address_does_not_make_another_address_wait_for_all_of_it(
    one_hasher: str,
) -> None:
    """Twenty-four failed sign-ins with made-up names fired from one address, then a county
    officer's sign-in from another: the password threads take the addresses in turn, so the
    officer waits for the check running and about one more of the burst, not for every one
    queued before (first come, first served: all of them, 10-17 s under a crowd)."""
    n = 24
    done: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(n)

    def attacker(i: int) -> int:
        burst = httpx.HTTPTransport(local_address="127.0.0.2")  # loopback, another address
        with httpx.Client(base_url=one_hasher, timeout=120, transport=burst) as c:
            barrier.wait()
            data = {"username": f"nobody{i:03d}", "password": "Wrong-guess-17"}
            code = c.post("/api/v1/auth/token", data=data).status_code
        with lock:
            done.append("burst")
        return code

    with ThreadPoolExecutor(n) as pool:
        codes = [pool.submit(attacker, i) for i in range(n)]
        deadline = time.monotonic() + 120
        while not done:  # the first check has run: the rest of the burst is queued
            assert time.monotonic() < deadline
            time.sleep(0.005)
        with lock:
            waiting = n - len(done)
        with httpx.Client(base_url=one_hasher, timeout=120) as c:
            data = {"username": "officer", "password": "Passw0rd123"}
            assert c.post("/api/v1/auth/token", data=data).status_code == 200
        with lock:
            done.append("officer")
        assert sorted({f.result() for f in codes}) == [401]
    after = len(done) - done.index("officer") - 1
    assert waiting >= 10, done  # the burst was queued when the officer came
    assert after >= waiting - 3, (waiting, after, done)
