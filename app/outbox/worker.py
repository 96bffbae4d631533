"""Delivering the outbox: take due messages under a lease, send, record the outcome.

Nothing is lost: a message leaves ``pending`` only when the other side accepted it (``sent``),
refused it for good or kept failing ``outbox_max_attempts`` times (``failed``), or could not be
sent at all — its channel is not configured or it waited longer than ``outbox_max_age_hours``
(``skipped``). A worker killed mid-delivery leaves its messages leased; the lease runs out and
they are taken again. Two workers never hold the same message at once: the lease is taken by a
conditional UPDATE that only one of them can win. The delivery key goes with every attempt, so
the one message that was in flight at a kill can be recognised if it arrives twice.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import or_, update
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import utcnow
from app.outbox.channels import Channel, DeliveryError, EmailChannel, Outgoing, SmsChannel
from app.outbox.models import OutboxMessage

log = logging.getLogger("xiangcai.outbox")

BATCH = 20
FIRST_RETRY = timedelta(seconds=30)
LONGEST_RETRY = timedelta(hours=1)
# Messages whose body holds a secret (invitation codes): their body is blanked once they are done.
SECRET_PREFIX = "invitation-"
SCRUBBED = "（正文含邀请码，发送结束后不再保存）"
NOT_CONFIGURED = {"email": "未配置邮件服务器（XIANGCAI_SMTP_URL）", "sms": "未配置短信网关"}


def channels_of(settings: Settings) -> dict[str, Channel]:
    found: dict[str, Channel] = {}
    if settings.smtp_url:
        found["email"] = EmailChannel(settings.smtp_url, settings.mail_from)
    if settings.sms_webhook_url:
        found["sms"] = SmsChannel(settings.sms_webhook_url)
    return found


def retry_delay(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … up to an hour between attempts."""
    delay: timedelta = FIRST_RETRY * (2 ** max(attempts - 1, 0))
    return min(delay, LONGEST_RETRY)


@dataclass
class Outcome:
    sent: int = 0
    retried: int = 0
    failed: int = 0
    skipped: int = 0
    ids: list[int] = field(default_factory=list)

    @property
    def handled(self) -> int:
        return self.sent + self.retried + self.failed + self.skipped


class OutboxWorker:
    def __init__(self, settings: Settings, engine: Engine, worker_id: str = "") -> None:
        self.settings = settings
        self.engine = engine
        self.channels = channels_of(settings)
        self.worker_id = worker_id
        self.lease = timedelta(seconds=settings.outbox_lease_seconds)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def describe_channels(self) -> str:
        if not self.channels:
            return "未配置邮件或短信：消息只在应用内显示"
        return ", ".join(f"{name}: {c.describe()}" for name, c in self.channels.items())

    # --- one pass ------------------------------------------------------------------------------

    def _take(self, now: datetime) -> OutboxMessage | None:
        """The oldest due message, leased to this worker by a conditional UPDATE that only one
        worker can win; None when nothing is due. One at a time, so that a lease never has to
        cover more than one delivery."""
        free = or_(col(OutboxMessage.leased_until).is_(None), col(OutboxMessage.leased_until) < now)
        with Session(self.engine) as session:
            for _ in range(5):  # another worker may win the first candidates
                message_id = session.exec(
                    select(OutboxMessage.id)
                    .where(col(OutboxMessage.status) == "pending")
                    .where(col(OutboxMessage.next_attempt_at) <= now)
                    .where(free)
                    .order_by(col(OutboxMessage.id))
                    .limit(1)
                ).first()
                if message_id is None:
                    return None
                won = session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == message_id)
                    .where(col(OutboxMessage.status) == "pending")
                    .where(free)
                    .values(leased_until=now + self.lease)
                )
                session.commit()
                if won.rowcount == 1:
                    row = session.get(OutboxMessage, message_id)
                    if row is not None:
                        session.expunge(row)
                        return row
            return None

    def _finish(self, message_id: int, **values: object) -> None:
        with Session(self.engine) as session:
            session.exec(
                update(OutboxMessage)
                .where(col(OutboxMessage.id) == message_id)
                .values(leased_until=None, **values)
            )
            if values.get("status") in ("sent", "failed", "skipped"):
                # A message carrying a secret (an invitation code) keeps it no longer than needed.
                session.exec(
                    update(OutboxMessage)
                    .where(col(OutboxMessage.id) == message_id)
                    .where(col(OutboxMessage.delivery_key).startswith(SECRET_PREFIX))
                    .values(body=SCRUBBED)
                )
            session.commit()

    def _outgoing(self, message: OutboxMessage) -> Outgoing:
        link = f"{self.settings.public_url.rstrip('/')}{message.link}" if message.link else ""
        body = message.body
        if link:
            body = f"{body}\n\n查看详情：{link}" if message.channel == "email" else f"{body} {link}"
        return Outgoing(message.delivery_key, message.address, message.subject, body)

    def run_once(self, now: datetime | None = None) -> Outcome:
        """Deliver what is due now; returns what happened to each message taken."""
        outcome = Outcome()
        for _ in range(BATCH):
            at = now or utcnow()  # a pass may be long: each lease starts when it is taken
            too_old = at - timedelta(hours=self.settings.outbox_max_age_hours)
            message = self._take(at)
            if message is None:
                break
            assert message.id is not None
            outcome.ids.append(message.id)
            channel = self.channels.get(message.channel)
            if channel is None or message.created_at < too_old:
                why = NOT_CONFIGURED[message.channel] if channel is None else "超过有效期未能发送"
                self._finish(message.id, status="skipped", last_error=why)
                outcome.skipped += 1
                continue
            attempts = message.attempts + 1
            try:
                channel.send(self._outgoing(message))
            except DeliveryError as exc:
                if exc.permanent or attempts >= self.settings.outbox_max_attempts:
                    self._finish(
                        message.id, status="failed", attempts=attempts, last_error=str(exc)
                    )
                    outcome.failed += 1
                    log.warning("outbox %s failed for good: %s", message.delivery_key, exc)
                else:
                    self._finish(
                        message.id,
                        attempts=attempts,
                        last_error=str(exc),
                        next_attempt_at=(now or utcnow()) + retry_delay(attempts),
                    )
                    outcome.retried += 1
                continue
            self._finish(
                message.id, status="sent", attempts=attempts, sent_at=utcnow(), last_error=None
            )
            outcome.sent += 1
        return outcome

    def drain(self, now: datetime | None = None) -> Outcome:
        """Deliver until nothing more is due now (tests, the CLI's --once)."""
        total = Outcome()
        while True:
            outcome = self.run_once(now)
            if not outcome.ids:
                return total
            total.sent += outcome.sent
            total.retried += outcome.retried
            total.failed += outcome.failed
            total.skipped += outcome.skipped
            total.ids += outcome.ids

    # --- the loop ------------------------------------------------------------------------------

    def loop(self, tick: Callable[[], None] | None = None) -> None:
        poll = self.settings.outbox_poll_seconds
        while not self._stop.is_set():
            try:
                self.run_once()
                if tick is not None:
                    tick()
            except Exception:  # the loop must outlive a database hiccup
                log.exception("outbox pass failed; trying again in %.0f s", poll)
            self._stop.wait(poll)

    def start(self, tick: Callable[[], None] | None = None) -> None:
        self._thread = threading.Thread(
            target=self.loop, args=(tick,), name="xiangcai-outbox", daemon=True
        )
        self._thread.start()

    def stop(self, timeout: float = 20.0) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout)
