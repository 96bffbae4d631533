"""How many requests a worker process works on at once, and in what order.

Measured with 20 clients on two workers (docs/load.md): when every request runs at once in the
thread pool, they share one GIL and a core, and each one's latency grows with how often it
waits for the GIL (every database call, every hop between the event loop and a thread) rather
than with its own work: a match list's p95 was three times its p50. Taking requests in arrival
order, a few at a time, makes the wait the same for everyone and loses no throughput (78–85
req/s either way; p95 ×27 → ×14–16 of one client's p50).

So each worker has lanes, each a FIFO with a fixed number of places:

* the ordinary lane (``XIANGCAI_WORKER_REQUESTS`` places, default 2): pages and API calls;
* the bulk lane (one place): imports and exports, which take seconds and would otherwise hold
  the ordinary places;
* no lane: static files, the health check and sign-in (its parts wait in small pools of
  their own, addresses in turn: the password check in low-priority threads,
  ``app.auth.security``, its two short transactions in one thread, ``app.auth.service``).

A request's body is read before it takes a place in the ordinary lane, so a client that sends
slowly holds nobody up; such bodies are at most ``MAX_BODY`` bytes (bulk uploads go to the
bulk lane, with their own limits).
"""

import asyncio
import json
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MAX_BODY = 1024 * 1024

FREE = "free"
BULK = "bulk"
ORDINARY = "ordinary"

_FREE_PATHS = frozenset({"/api/v1/health", "/favicon.ico", "/api/v1/auth/token", "/login"})


def lane_of(method: str, path: str) -> str:
    """Which lane a request waits in."""
    if path.startswith("/static/") or path in _FREE_PATHS:
        return FREE
    if (path.endswith("/import") and method == "POST") or path.endswith("/export"):
        return BULK
    return ORDINARY


class Lanes:
    """ASGI middleware: admit each HTTP request into its lane, first come first served."""

    def __init__(self, app: ASGIApp, width: int = 2, max_body: int = MAX_BODY) -> None:
        if width < 1:
            raise ValueError("width must be at least 1")
        self.app = app
        self.width = width
        self.max_body = max_body
        self._loop: asyncio.AbstractEventLoop | None = None
        self._places: dict[str, asyncio.Semaphore] = {}

    def _lane(self, name: str) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if loop is not self._loop:  # one set per event loop (tests run several in turn)
            self._loop = loop
            self._places = {ORDINARY: asyncio.Semaphore(self.width), BULK: asyncio.Semaphore(1)}
        return self._places[name]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        lane = lane_of(scope["method"], scope["path"])
        if lane == FREE:
            await self.app(scope, receive, send)
            return
        if lane == ORDINARY:
            body = await self._read_body(receive)
            if body is None:
                await _too_large(send, self.max_body)
                return
            receive = _replay(body, receive)
        async with self._lane(lane):
            await self.app(scope, receive, send)

    async def _read_body(self, receive: Receive) -> bytes | None:
        """The whole body, or None when it is larger than ``max_body``."""
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                break
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.max_body:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()  # then wait for the disconnect, as the server would

    return replayed


async def _too_large(send: Send, limit: int) -> None:
    message = f"请求内容过大（上限 {limit // 1024} KB）；批量数据请使用导入功能"
    body = json.dumps(
        {
            "code": "body_too_large",
            "field": None,
            "message": message,
            "errors": [{"field": None, "code": "body_too_large", "message": message}],
        },
        ensure_ascii=False,
    ).encode()
    await send(
        {
            "type": "http.response.start",
            "status": 413,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
