"""Lanes: requests admitted in arrival order, a few at a time, without letting slow senders,
imports or sign-ins hold up the ordinary lane."""

import asyncio
import json
from typing import Any

import httpx
import pytest

from app.admission import BULK, FREE, ORDINARY, Lanes, lane_of
from tests.app.factories import run_coroutine as run


class Recorder:
    """An ASGI app that notes when each request starts and ends, and can be held."""

    def __init__(self) -> None:
        self.running = 0
        self.most = 0
        self.started: list[str] = []
        self.bodies: dict[str, bytes] = {}
        self.hold: dict[str, asyncio.Event] = {}

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        name = scope["path"]
        self.started.append(name)
        self.running += 1
        self.most = max(self.most, self.running)
        body = b""
        while True:
            message = await receive()
            body += message.get("body", b"")
            if not message.get("more_body"):
                break
        self.bodies[name] = body
        if name in self.hold:
            await self.hold[name].wait()
        else:
            await asyncio.sleep(0.02)
        self.running -= 1
        await send({"type": "http.response.start", "status": 200, "headers": []})
        await send({"type": "http.response.body", "body": b"ok"})


def client(app: Any) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://t")


def test_each_request_goes_to_its_lane() -> None:
    assert lane_of("GET", "/api/v1/needs/3/matches") == ORDINARY
    assert lane_of("PATCH", "/api/v1/profiles/3") == ORDINARY
    assert lane_of("GET", "/admin/import") == ORDINARY  # the page, not the upload
    assert lane_of("POST", "/admin/import") == BULK
    assert lane_of("POST", "/api/v1/profiles/import") == BULK
    assert lane_of("GET", "/api/v1/placements/export") == BULK
    assert lane_of("GET", "/placements/export") == BULK
    assert lane_of("POST", "/api/v1/auth/token") == FREE
    assert lane_of("POST", "/login") == FREE
    assert lane_of("GET", "/static/app.css") == FREE
    assert lane_of("GET", "/api/v1/health") == FREE


def test_the_ordinary_lane_admits_in_arrival_order_a_few_at_a_time() -> None:
    inner = Recorder()
    app = Lanes(inner, width=2)

    async def go() -> list[int]:
        async with client(app) as c:
            tasks = []
            for i in range(8):
                tasks.append(asyncio.create_task(c.get(f"/r{i}")))
                await asyncio.sleep(0.001)  # arrive in this order
            return [r.status_code for r in await asyncio.gather(*tasks)]

    assert run(go) == [200] * 8
    assert inner.most == 2
    assert inner.started == [f"/r{i}" for i in range(8)]


def test_without_lanes_the_same_requests_all_run_at_once() -> None:
    """The recorder can see concurrency: the test above would fail without the lanes."""
    inner = Recorder()

    async def go() -> None:
        async with client(inner) as c:
            await asyncio.gather(*(c.get(f"/r{i}") for i in range(8)))

    run(go)
    assert inner.most == 8


def test_a_slow_sender_holds_no_place() -> None:
    inner = Recorder()
    app = Lanes(inner, width=1)

    async def go() -> tuple[list[str], bytes]:
        gate = asyncio.Event()
        sent: list[dict[str, Any]] = [
            {"type": "http.request", "body": b'{"a": ', "more_body": True},
            {"type": "http.request", "body": b"1}", "more_body": False},
        ]

        async def slow_receive() -> dict[str, Any]:
            if len(sent) == 1:
                await gate.wait()  # the second half comes only when the test says so
            return sent.pop(0) if sent else {"type": "http.disconnect"}

        done: list[str] = []

        async def noop_send(_m: Any) -> None:
            pass

        scope = {"type": "http", "method": "POST", "path": "/slow", "headers": []}
        slow = asyncio.create_task(app(scope, slow_receive, noop_send))
        await asyncio.sleep(0.01)
        async with client(app) as c:
            r = await asyncio.wait_for(c.get("/quick"), timeout=5)
            done.append(f"/quick {r.status_code}")
        gate.set()
        await asyncio.wait_for(slow, timeout=5)
        done.append("/slow")
        return done, inner.bodies["/slow"]

    order, body = run(go)
    assert order == ["/quick 200", "/slow"]
    assert body == b'{"a": 1}'  # the app still reads the whole body, once


def test_a_body_over_the_limit_is_refused_in_chinese_and_never_reaches_the_app() -> None:
    inner = Recorder()
    app = Lanes(inner, width=2, max_body=1000)

    async def go() -> httpx.Response:
        async with client(app) as c:
            return await c.post("/api/v1/profiles", content=b"x" * 1001)

    r = run(go)
    assert r.status_code == 413
    body = json.loads(r.content)
    assert body["code"] == "body_too_large"
    assert "请求内容过大" in body["message"]
    assert inner.started == []


def test_imports_and_sign_ins_do_not_take_the_ordinary_places() -> None:
    inner = Recorder()
    app = Lanes(inner, width=1)

    async def go() -> int:
        inner.hold["/api/v1/profiles/import"] = asyncio.Event()
        inner.hold["/api/v1/auth/token"] = asyncio.Event()
        async with client(app) as c:
            bulk = asyncio.create_task(c.post("/api/v1/profiles/import", content=b"x" * 5000))
            sign_in = asyncio.create_task(c.post("/api/v1/auth/token", content=b"u=1"))
            await asyncio.sleep(0.02)
            r = await asyncio.wait_for(c.get("/api/v1/needs"), timeout=5)
            inner.hold["/api/v1/profiles/import"].set()
            inner.hold["/api/v1/auth/token"].set()
            await asyncio.gather(bulk, sign_in)
            return r.status_code

    assert run(go) == 200
    assert inner.bodies["/api/v1/profiles/import"] == b"x" * 5000


@pytest.mark.parametrize("width", [0, -1])
def test_a_lane_needs_a_place(width: int) -> None:
    with pytest.raises(ValueError, match="at least 1"):
        Lanes(Recorder(), width=width)
