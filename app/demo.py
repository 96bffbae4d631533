"""A believable year of placements for the demo data, so that every page has something to show.

Run by ``python -m app seed-demo`` after the demo profiles, needs and accounts exist, through the
same services a county and a talent use (proposals from the real match lists, every step
audited, notifications written). Deterministic (a fixed seed) and idempotent: it does nothing
when any placement exists. The placements' own dates are spread over the past year so that the
statistics, to-do lists and reminders have a history; the audit events keep the time they were
written (the chain is append-only: it cannot be backdated, and should not be).
"""

from __future__ import annotations

import random
from datetime import datetime, timedelta

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.auth.actor import Actor
from app.auth.models import Account
from app.counties.models import County
from app.db import utcnow
from app.errors import AppError
from app.matches import service as matches
from app.matches.matcher import Matcher
from app.needs.models import Need
from app.placements import service as placements
from app.placements.models import Placement
from app.placements.schemas import PlacementCreate, ReportCreate
from app.profiles.models import Profile

# What becomes of a need's proposal, with weights; former poverty counties lean to service.
OUTCOMES = ["none", "proposed", "declined", "accepted", "active", "completed", "cancelled"]
WEIGHTS = [16, 12, 10, 8, 30, 18, 6]
POVERTY_WEIGHTS = [8, 8, 8, 8, 38, 24, 6]
STEPS = {
    "none": [],
    "proposed": [],
    "declined": ["decline"],
    "accepted": ["accept"],
    "active": ["accept", "start"],
    "completed": ["accept", "start", "complete"],
    "cancelled": ["accept", "cancel"],
}
DECLINES = [
    ("schedule", "今年课题任务重，下半年才有时间。"),
    ("distance", "路途较远，每周往返困难。"),
    ("mismatch", "需求偏重加工，我主要做种植。"),
]
REPORT_TEXTS = [
    "到村开展现场技术指导，查看田间长势并讲解关键技术要点。",
    "举办培训班，培训种植户、合作社成员，并发放技术资料。",
    "协助合作社制定生产方案，解决一项生产中的技术难题。",
]


def _officer(session: Session, county_code: str) -> Actor | None:
    account = session.exec(
        select(Account).where(Account.role == "county", Account.county_code == county_code)
    ).first()
    if account is None:
        return None
    return Actor(account.id, account.username, "county", county_code)


def _talent(session: Session, profile_id: int) -> Actor:
    """The person answers for themselves if they have an account; otherwise the answer came by
    telephone and the administrator entered it."""
    profile = session.get(Profile, profile_id)
    if profile is not None and profile.owner_id is not None:
        account = session.get(Account, profile.owner_id)
        if account is not None:
            return Actor(account.id, account.username, "talent")
    return Actor.system("demo-admin")


def _completion(start: datetime, now: datetime) -> datetime:
    return min(start + timedelta(days=150), now - timedelta(days=2))


def _backdate(
    session: Session, placement: Placement, start: datetime, outcome: str, now: datetime
) -> None:
    dates: dict[str, datetime | None] = {"created_at": start}
    if outcome in ("accepted", "active", "completed", "cancelled"):
        dates["accepted_at"] = start + timedelta(days=3)
    if outcome == "declined":
        dates["declined_at"] = start + timedelta(days=4)
    if outcome in ("active", "completed"):
        dates["started_at"] = start + timedelta(days=12)
    if outcome == "completed":
        dates["completed_at"] = _completion(start, now)
    if outcome == "cancelled":
        dates["cancelled_at"] = start + timedelta(days=20)
    dates["updated_at"] = max(d for d in dates.values() if d is not None)
    for name, value in dates.items():
        setattr(placement, name, value)
    session.add(placement)


def _reports(
    session: Session,
    rng: random.Random,
    placement: Placement,
    actor: Actor,
    end: datetime,
    ongoing: bool,
) -> None:
    """Monthly service reports from the start of service until ``end``."""
    started = placement.started_at
    assert started is not None
    assert placement.id is not None
    months = max(1, min(4, (end - started).days // 30))
    # Some placements still in service have gone quiet: their last report is over a month old.
    quiet = ongoing and rng.random() < 0.4
    for i in range(months if not quiet else max(1, months - 2)):
        report = placements.add_report(
            session,
            placement_id=placement.id,
            data=ReportCreate(
                period=f"第{i + 1}期",
                service_days=rng.randint(3, 9),
                trainings=rng.randint(10, 80),
                problems_solved=rng.randint(0, 3),
                techniques_promoted=rng.randint(0, 2),
                jobs_created=rng.randint(0, 6),
                text=rng.choice(REPORT_TEXTS),
            ),
            actor=actor,
        )
        report.created_at = min(started + timedelta(days=30 * (i + 1)), end - timedelta(days=1))
        session.add(report)


def seed_year(session: Session, matcher: Matcher, *, window: int = 50) -> str:
    if session.exec(select(func.count()).select_from(Placement)).one():
        return "演示对接记录已存在，跳过"
    rng = random.Random(2026)
    now = utcnow()
    poverty = set(
        session.exec(select(County.code).where(col(County.poverty_county_2018).is_(True))).all()
    )
    needs = session.exec(select(Need).where(Need.status == "open").order_by(col(Need.id))).all()
    made: dict[str, int] = dict.fromkeys(OUTCOMES, 0)
    for i, need in enumerate(needs):
        assert need.id is not None
        weights = POVERTY_WEIGHTS if need.county_code in poverty else WEIGHTS
        outcome = rng.choices(OUTCOMES, weights)[0]
        county = _officer(session, need.county_code)
        if outcome == "none" or county is None:
            made["none"] += 1
            continue
        # Posted over the past year; unanswered proposals are recent (a week or two).
        start = now - timedelta(days=330 - int(280 * i / max(len(needs), 1)))
        if outcome == "proposed":
            start = now - timedelta(days=rng.randint(2, 16))
        listed = matches.need_matches(session, matcher, need=need, limit=8).items
        placement = None
        for item in listed:
            assert item.profile_id is not None
            try:
                with session.begin_nested():
                    placement = placements.propose(
                        session,
                        data=PlacementCreate(need_id=need.id, profile_id=item.profile_id),
                        actor=county,
                        matcher=matcher,
                        window=window,
                    )
                break
            except AppError:
                continue  # full, or already proposed elsewhere: the next on the list
        if placement is None or placement.id is None:
            made["none"] += 1
            continue
        talent = _talent(session, placement.profile_id)
        for step in STEPS[outcome]:
            who = talent if step in ("accept", "decline") else county
            if step == "decline":
                code, words = rng.choice(DECLINES)
                placements.transition(
                    session,
                    placement_id=placement.id,
                    action="decline",
                    actor=who,
                    reason=words,
                    decline_code=code,
                )
                continue
            if step == "complete":
                _backdate(session, placement, start, "active", now)
                _reports(session, rng, placement, county, _completion(start, now), False)
            placements.transition(
                session,
                placement_id=placement.id,
                action=step,
                actor=who,
                reason="县里调整了项目安排，双方协商取消。" if step == "cancel" else None,
            )
        _backdate(session, placement, start, outcome, now)
        if outcome == "active":
            _reports(session, rng, placement, county, now, True)
        need.created_at = start - timedelta(days=7)
        session.add(need)
        made[outcome] += 1
    session.flush()
    # Needs nobody was proposed for were posted over the year too (some long open: a finding).
    for need in needs:
        if not session.exec(select(Placement.id).where(Placement.need_id == need.id)).first():
            session.exec(
                update(Need)
                .where(col(Need.id) == need.id)
                .values(created_at=now - timedelta(days=rng.randint(3, 200)))
            )
    total = sum(v for k, v in made.items() if k != "none")
    return (
        f"演示对接记录 {total} 条：已推荐 {made['proposed']}、已婉拒 {made['declined']}、"
        f"已接受 {made['accepted']}、服务中 {made['active']}、已完成 {made['completed']}、"
        f"已取消 {made['cancelled']}"
    )
