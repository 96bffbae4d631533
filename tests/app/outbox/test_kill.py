"""The outbox loses nothing when its process is killed in the middle of a delivery."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import PROJECT_ROOT
from app.outbox.models import OutboxMessage
from tests.app.outbox.conftest import Mailbox
from tests.app.outbox.test_worker import queue

pytestmark = pytest.mark.slow


def start_worker(engine: Engine, smtp_url: str, tmp_path: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "XIANGCAI_DATABASE_URL": engine.url.render_as_string(hide_password=False),
        "XIANGCAI_DATA_DIR": str(tmp_path),
        "XIANGCAI_SMTP_URL": smtp_url,
        "XIANGCAI_OUTBOX_POLL_SECONDS": "0.2",
        "XIANGCAI_OUTBOX_LEASE_SECONDS": "3",
    }
    return subprocess.Popen(
        [sys.executable, "-m", "app", "outbox", "run"],
        cwd=PROJECT_ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )


def wait_for(condition, timeout: float = 90.0) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError("timed out")
        time.sleep(0.05)


def pending(engine: Engine) -> int:
    with Session(engine) as session:
        return len(
            session.exec(select(OutboxMessage.id).where(col(OutboxMessage.status) != "sent")).all()
        )


def test_kill_mid_delivery_then_restart_delivers_everything(
    tmp_path: Path, box_engine: Engine, smtp: tuple[Mailbox, str]
) -> None:
    box, smtp_url = smtp
    box.delay = 0.7  # each message is held by the server before it is accepted
    keys = queue(box_engine, 6, "email")
    worker = start_worker(box_engine, smtp_url, tmp_path)
    try:
        wait_for(lambda: len(box.messages) >= 2)
        # The worker is now inside the next delivery (the server is holding the message).
        worker.send_signal(signal.SIGKILL)
        worker.wait(10)
    finally:
        if worker.poll() is None:
            worker.kill()
    assert pending(box_engine) > 0  # the kill left work undone

    again = start_worker(box_engine, smtp_url, tmp_path)
    try:
        wait_for(lambda: pending(box_engine) == 0)
    finally:
        again.send_signal(signal.SIGTERM)
        assert again.wait(30) == 0, again.stderr.read() if again.stderr else ""

    expected = {f"<{k}@xiangcai>" for k in keys}
    got = box.ids()
    # Nothing lost: every message arrived. The one in flight at the kill may arrive twice,
    # with the same Message-ID, so that the receiving side can drop the repeat.
    assert set(got) == expected
    assert len(got) <= len(keys) + 1
