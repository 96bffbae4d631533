"""A real SMTP server (aiosmtpd) and a real HTTP receiver on loopback, and a database of the
outbox tests' own (the worker commits through its own sessions)."""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy.engine import Engine

from tests.conftest import BACKENDS, Databases, migrated_engine


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Mailbox:
    """What the SMTP server received; ``delay`` holds each message before it is accepted."""

    messages: list[EmailMessage] = field(default_factory=list)
    delay: float = 0.0
    refuse_with: str | None = None  # e.g. "451 try later"
    lock: threading.Lock = field(default_factory=threading.Lock)

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        if self.delay:
            await asyncio.sleep(self.delay)
        if self.refuse_with:
            return self.refuse_with
        parsed = message_from_bytes(envelope.content, policy=policy.default)
        with self.lock:
            self.messages.append(parsed)  # type: ignore[arg-type]
        return "250 OK"

    def ids(self) -> list[str]:
        with self.lock:
            return [str(m["Message-ID"]) for m in self.messages]


@pytest.fixture
def smtp() -> Iterator[tuple[Mailbox, str]]:
    box = Mailbox()
    port = free_port()
    controller = Controller(box, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        yield box, f"smtp://127.0.0.1:{port}"
    finally:
        controller.stop()


@dataclass
class Gateway:
    """What the SMS gateway received, and the status it answers with."""

    received: list[tuple[dict[str, Any], str]] = field(default_factory=list)
    status: int = 200
    delay: float = 0.0


@pytest.fixture
def gateway() -> Iterator[tuple[Gateway, str]]:
    state = Gateway()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            if state.delay:
                time.sleep(state.delay)
            if state.status < 300:
                state.received.append((json.loads(body), self.headers.get("Idempotency-Key", "")))
            self.send_response(state.status)
            self.end_headers()
            self.wfile.write(b'{"ok": true}')

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/sms"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(params=BACKENDS)
def box_engine(request: pytest.FixtureRequest, databases: Databases) -> Iterator[Engine]:
    engine = migrated_engine(databases, request.param)
    yield engine
    engine.dispose()
