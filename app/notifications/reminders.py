"""The reminder sweep: proposals unanswered, service reports overdue, needs nobody proposed.

Run periodically by the outbox loop (every ``reminder_sweep_minutes``) in each service process
or by ``python -m app outbox run``. Each reminder has a dedupe key, so sweeps that overlap (two
processes) or repeat (every hour) send it once: a proposal is reminded of once, a report once per
gap since the last report, a need once.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta

from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session

from app.config import Settings
from app.counties.models import County
from app.db import utcnow
from app.needs.models import Need
from app.notifications import service as notifications
from app.notifications.service import Message
from app.placements.models import Placement
from app.profiles.models import Profile
from app.todos import service as todos

log = logging.getLogger("xiangcai.reminders")


def _title(session: Session, need_id: int) -> str:
    need = session.get(Need, need_id)
    return need.title if need else ""


def _county(session: Session, code: str) -> str:
    county = session.get(County, code)
    return county.name if county else code


def _proposal(session: Session, p: Placement, days: int) -> int:
    title = _title(session, p.need_id)
    owner = notifications.owner_of(session, p.profile_id)
    if owner is not None:
        return len(
            notifications.notify(
                session,
                accounts=[owner],
                message=Message(
                    "reminder.proposal_unanswered",
                    f"「{title}」的推荐等待您的答复",
                    f"{_county(session, p.county_code)}推荐您参与「{title}」"
                    f"已超过 {days} 天，请接受或婉拒。",
                    f"/placements/{p.id}",
                ),
                dedupe_key=f"reminder.proposal:{p.id}",
            )
        )
    # Nobody can answer online: the county has to reach the person another way.
    profile = session.get(Profile, p.profile_id)
    return len(
        notifications.notify(
            session,
            accounts=notifications.county_officers(session, p.county_code),
            message=Message(
                "reminder.proposal_unanswered",
                f"{profile.name if profile else ''}尚未答复「{title}」的推荐",
                f"该人选未注册账号，推荐已超过 {days} 天未答复。请线下联系或邀请其注册。",
                f"/placements/{p.id}",
            ),
            dedupe_key=f"reminder.proposal:{p.id}",
        )
    )


def _report(session: Session, due: todos.ReportDue, days: int) -> int:
    p = due.placement
    title = _title(session, p.need_id)
    owner = notifications.owner_of(session, p.profile_id)
    accounts = [*([owner] if owner else []), *notifications.county_officers(session, p.county_code)]
    return len(
        notifications.notify(
            session,
            accounts=accounts,
            message=Message(
                "reminder.report_overdue",
                f"「{title}」已超过 {days} 天没有服务记录",
                "请提交本期服务记录（服务天数、培训人次、解决难题等）。",
                f"/placements/{p.id}#report-form",
            ),
            dedupe_key=f"reminder.report:{p.id}:{due.last_at.date().isoformat()}",
        )
    )


def _need(session: Session, need: Need, days: int) -> int:
    return len(
        notifications.notify(
            session,
            accounts=notifications.county_officers(session, need.county_code),
            message=Message(
                "reminder.need_unproposed",
                f"「{need.title}」发布已超过 {days} 天仍无推荐",
                "请查看匹配名单并推荐合适的人选，或调整需求描述。",
                f"/needs/{need.id}/matches",
            ),
            dedupe_key=f"reminder.need:{need.id}",
        )
    )


def sweep(session: Session, settings: Settings, now: datetime | None = None) -> int:
    """Write the reminders that are due; returns how many notifications were written."""
    now = now or utcnow()
    written = 0
    days = settings.reminder_proposal_days
    for p in todos.unanswered_proposals(session, before=now - timedelta(days=days), limit=None):
        written += _proposal(session, p, days)
    days = settings.reminder_report_days
    for due in todos.reports_due(session, before=now - timedelta(days=days), limit=None):
        written += _report(session, due, days)
    days = settings.reminder_need_days
    for need in todos.needs_without_proposal(
        session, before=now - timedelta(days=days), limit=None
    ):
        written += _need(session, need, days)
    return written


def run(engine: Engine, settings: Settings, now: datetime | None = None) -> int:
    with Session(engine) as session:
        try:
            written = sweep(session, settings, now)
            session.commit()
        except IntegrityError:
            # Another process wrote the same reminder between our check and our insert.
            session.rollback()
            return 0
    if written:
        log.info("reminders: %d written", written)
    return written


class Sweeper:
    """Runs ``run`` at most every ``reminder_sweep_minutes``; called from the outbox loop."""

    def __init__(self, engine: Engine, settings: Settings) -> None:
        self.engine = engine
        self.settings = settings
        self._last: float | None = None

    def tick(self) -> None:
        now = time.monotonic()
        if self._last is not None and now - self._last < self.settings.reminder_sweep_minutes * 60:
            return
        self._last = now
        run(self.engine, self.settings)
