"""The outbox worker against a real SMTP server and a real HTTP gateway."""

from __future__ import annotations

import threading
from datetime import timedelta
from pathlib import Path

from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from app.config import Settings
from app.db import utcnow
from app.outbox import service as outbox
from app.outbox.models import OutboxMessage
from app.outbox.worker import OutboxWorker, retry_delay
from tests.app.outbox.conftest import Gateway, Mailbox


def settings_for(tmp_path: Path, engine: Engine, **values: object) -> Settings:
    return Settings(
        env="test",
        data_dir=tmp_path,
        database_url=str(engine.url),
        public_url="https://xiangcai.example.cn",
        **values,  # type: ignore[arg-type]
    )


def queue(engine: Engine, n: int, channel: str = "email") -> list[str]:
    keys = []
    with Session(engine) as session:
        for i in range(n):
            key = f"test-{channel}-{i}-{utcnow().timestamp()}"
            outbox.queue(
                session,
                channel=channel,
                address="wang@example.cn" if channel == "email" else "13811112222",
                subject=f"吉林省乡才通测试消息 {i}",
                body="通榆县推荐您对接「碱巴拉地返碱死苗」。",
                delivery_key=key,
                link=f"/placements/{i + 1}",
            )
            keys.append(key)
        session.commit()
    return keys


def statuses(engine: Engine) -> list[tuple[str, str, int]]:
    with Session(engine) as session:
        rows = session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id))).all()
        return [(m.delivery_key, m.status, m.attempts) for m in rows]


def test_email_and_sms_are_delivered_with_their_keys(
    tmp_path: Path,
    box_engine: Engine,
    smtp: tuple[Mailbox, str],
    gateway: tuple[Gateway, str],
) -> None:
    box, smtp_url = smtp
    gw, gw_url = gateway
    settings = settings_for(tmp_path, box_engine, smtp_url=smtp_url, sms_webhook_url=gw_url)
    (mail_key,) = queue(box_engine, 1, "email")
    (sms_key,) = queue(box_engine, 1, "sms")
    done = OutboxWorker(settings, box_engine).drain()
    assert (done.sent, done.retried, done.failed, done.skipped) == (2, 0, 0, 0)
    (mail,) = box.messages
    assert mail["Message-ID"] == f"<{mail_key}@xiangcai>"
    assert mail["Subject"] == "吉林省乡才通测试消息 0"
    assert mail["To"] == "wang@example.cn"
    text = mail.get_content()
    assert "碱巴拉地返碱死苗" in text
    assert "https://xiangcai.example.cn/placements/1" in text
    ((payload, idem),) = gw.received
    assert idem == sms_key == payload["key"]
    assert payload["to"] == "13811112222"
    assert payload["text"].startswith("【乡才通】吉林省乡才通测试消息 0：")
    assert payload["text"].endswith("https://xiangcai.example.cn/placements/1")
    assert [s for _k, s, _a in statuses(box_engine)] == ["sent", "sent"]
    # Delivered messages are not taken again.
    assert OutboxWorker(settings, box_engine).drain().ids == []
    assert len(box.messages) == 1
    assert len(gw.received) == 1


def test_a_gateway_that_fails_is_retried_later_then_given_up(
    tmp_path: Path, box_engine: Engine, gateway: tuple[Gateway, str]
) -> None:
    gw, gw_url = gateway
    settings = settings_for(tmp_path, box_engine, sms_webhook_url=gw_url, outbox_max_attempts=3)
    queue(box_engine, 1, "sms")
    worker = OutboxWorker(settings, box_engine)
    gw.status = 503
    now = utcnow()
    assert worker.run_once(now).retried == 1
    # Not due again until the back-off has passed.
    assert worker.run_once(now + timedelta(seconds=5)).ids == []
    assert worker.run_once(now + retry_delay(1) + timedelta(seconds=1)).retried == 1
    later = now + timedelta(hours=2)
    assert worker.run_once(later).failed == 1
    ((_key, status, attempts),) = statuses(box_engine)
    assert (status, attempts) == ("failed", 3)
    assert gw.received == []


def test_a_recovered_gateway_gets_the_message_and_a_refusal_is_final(
    tmp_path: Path, box_engine: Engine, gateway: tuple[Gateway, str]
) -> None:
    gw, gw_url = gateway
    settings = settings_for(tmp_path, box_engine, sms_webhook_url=gw_url)
    queue(box_engine, 1, "sms")
    worker = OutboxWorker(settings, box_engine)
    gw.status = 502
    now = utcnow()
    worker.run_once(now)
    gw.status = 200
    assert worker.run_once(now + timedelta(minutes=5)).sent == 1
    assert len(gw.received) == 1
    # 400: the gateway will never take this one (a bad number): failed at once.
    queue(box_engine, 1, "sms")
    gw.status = 400
    assert worker.run_once(now + timedelta(minutes=6)).failed == 1


def test_smtp_temporary_refusal_is_retried(
    tmp_path: Path, box_engine: Engine, smtp: tuple[Mailbox, str]
) -> None:
    box, smtp_url = smtp
    settings = settings_for(tmp_path, box_engine, smtp_url=smtp_url)
    queue(box_engine, 1, "email")
    box.refuse_with = "451 4.3.0 try again later"
    worker = OutboxWorker(settings, box_engine)
    now = utcnow()
    assert worker.run_once(now).retried == 1
    box.refuse_with = None
    assert worker.run_once(now + timedelta(minutes=5)).sent == 1
    assert len(box.messages) == 1


def test_without_channels_messages_are_kept_as_skipped(tmp_path: Path, box_engine: Engine) -> None:
    settings = settings_for(tmp_path, box_engine)
    queue(box_engine, 2, "email")
    worker = OutboxWorker(settings, box_engine)
    assert "只在应用内" in worker.describe_channels()
    assert worker.drain().skipped == 2
    with Session(box_engine) as session:
        reasons = session.exec(select(OutboxMessage.last_error)).all()
    assert all("未配置邮件服务器" in (r or "") for r in reasons)


def test_messages_too_old_are_not_sent_late(
    tmp_path: Path, box_engine: Engine, smtp: tuple[Mailbox, str]
) -> None:
    box, smtp_url = smtp
    settings = settings_for(tmp_path, box_engine, smtp_url=smtp_url, outbox_max_age_hours=1)
    queue(box_engine, 1, "email")
    done = OutboxWorker(settings, box_engine).run_once(utcnow() + timedelta(hours=2))
    assert done.skipped == 1
    assert box.messages == []


def test_two_workers_never_send_the_same_message(
    tmp_path: Path, box_engine: Engine, gateway: tuple[Gateway, str]
) -> None:
    gw, gw_url = gateway
    gw.delay = 0.05
    settings = settings_for(tmp_path, box_engine, sms_webhook_url=gw_url)
    keys = queue(box_engine, 12, "sms")
    workers = [OutboxWorker(settings, box_engine) for _ in range(2)]
    sent = [0, 0]

    def work(i: int) -> None:
        sent[i] = workers[i].drain().sent

    threads = [threading.Thread(target=work, args=(i,)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    got = sorted(idem for _payload, idem in gw.received)
    assert got == sorted(keys)  # each exactly once
    assert sum(sent) == 12


def test_an_invitation_code_is_not_kept_once_sent(
    tmp_path: Path, box_engine: Engine, gateway: tuple[Gateway, str]
) -> None:
    from app.outbox.worker import SCRUBBED

    gw, gw_url = gateway
    settings = settings_for(tmp_path, box_engine, sms_webhook_url=gw_url)
    with Session(box_engine) as session:
        outbox.queue(
            session,
            channel="sms",
            address="13811112222",
            subject="乡才通注册邀请",
            body="您的邀请码为 ABCDE-FGHJK，7 天内有效。",
            delivery_key="invitation-1-sms",
        )
        session.commit()
    queue(box_engine, 1, "sms")  # an ordinary notice keeps its text
    assert OutboxWorker(settings, box_engine).drain().sent == 2
    assert "ABCDE-FGHJK" in gw.received[0][0]["text"]
    with Session(box_engine) as session:
        bodies = [
            m.body for m in session.exec(select(OutboxMessage).order_by(col(OutboxMessage.id)))
        ]
    assert bodies[0] == SCRUBBED
    assert "碱巴拉地" in bodies[1]
