"""The sign-in throttle counts atomically: many wrong passwords at once, on a real server."""

import socket
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
import pytest
import uvicorn
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


@pytest.fixture(params=BACKENDS)
def live(request: pytest.FixtureRequest, databases: Databases, tmp_path: Any) -> Iterator[str]:
    engine = migrated_engine(databases, request.param)
    with Session(engine) as session:
        make_account(session, "talent", username="raced")
    settings = Settings(env="test", data_dir=tmp_path, database_url=str(engine.url))
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
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=30)
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
