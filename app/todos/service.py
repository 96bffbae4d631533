"""What is waiting for whom (待办), and the same questions asked by the reminder sweep.

Each query answers one question for a scope (a county, a person's profile, the province): the
to-do lists show the answers on each role's landing page, and ``notifications.reminders``
asks them with a cut-off to send reminders.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import and_, exists, func
from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from app.interests.models import Interest
from app.needs.models import Need
from app.placements.models import LIVE_STATUSES, Placement, ServiceReport
from app.profiles.models import Profile

LIMIT = 50


def unanswered_proposals(
    session: Session,
    *,
    before: datetime | None = None,
    county_code: str | None = None,
    profile_id: int | None = None,
    limit: int | None = LIMIT,
) -> list[Placement]:
    """Proposals still waiting for the person's answer (made before ``before``, if given)."""
    query = select(Placement).where(Placement.status == "proposed")
    if before is not None:
        query = query.where(col(Placement.created_at) <= before)
    if county_code is not None:
        query = query.where(Placement.county_code == county_code)
    if profile_id is not None:
        query = query.where(Placement.profile_id == profile_id)
    return list(session.exec(query.order_by(col(Placement.created_at)).limit(limit)).all())


def accepted_not_started(session: Session, *, county_code: str) -> list[Placement]:
    return list(
        session.exec(
            select(Placement)
            .where(Placement.status == "accepted", Placement.county_code == county_code)
            .order_by(col(Placement.accepted_at))
            .limit(LIMIT)
        ).all()
    )


@dataclass(frozen=True)
class ReportDue:
    placement: Placement
    last_at: datetime  # the last service report, or the start of service if none yet


def reports_due(
    session: Session,
    *,
    before: datetime,
    county_code: str | None = None,
    profile_id: int | None = None,
    limit: int | None = LIMIT,
) -> list[ReportDue]:
    """Active placements whose last service report (or start) is older than ``before``."""
    last = (
        select(ServiceReport.placement_id, func.max(ServiceReport.created_at).label("last_at"))
        .group_by(col(ServiceReport.placement_id))
        .subquery()
    )
    query = (
        select(Placement, last.c.last_at)
        .join(last, last.c.placement_id == Placement.id, isouter=True)
        .where(Placement.status == "active")
        .where(func.coalesce(last.c.last_at, Placement.started_at) <= before)
    )
    if county_code is not None:
        query = query.where(Placement.county_code == county_code)
    if profile_id is not None:
        query = query.where(Placement.profile_id == profile_id)
    rows = session.exec(query.order_by(col(Placement.started_at)).limit(limit)).all()
    return [ReportDue(p, last_at or p.started_at or p.created_at) for p, last_at in rows]


def needs_without_proposal(
    session: Session,
    *,
    before: datetime | None = None,
    county_code: str | None = None,
    limit: int | None = LIMIT,
) -> list[Need]:
    """Open needs that nobody has been proposed for (posted before ``before``, if given)."""
    anyone = exists().where(col(Placement.need_id) == col(Need.id))
    query = select(Need).where(Need.status == "open").where(~anyone)
    if before is not None:
        query = query.where(col(Need.created_at) <= before)
    if county_code is not None:
        query = query.where(Need.county_code == county_code)
    return list(session.exec(query.order_by(col(Need.created_at)).limit(limit)).all())


def declines_to_replan(session: Session, *, county_code: str, since: datetime) -> list[Placement]:
    """Recent declines on needs that are still open with nobody else under way."""
    live = aliased(Placement)
    other_live = exists().where(
        and_(col(live.need_id) == col(Need.id), col(live.status).in_(LIVE_STATUSES))
    )
    open_needs_alone = select(Need.id).where(Need.status == "open").where(~other_live)
    return list(
        session.exec(
            select(Placement)
            .where(Placement.status == "declined", Placement.county_code == county_code)
            .where(col(Placement.declined_at) >= since)
            .where(col(Placement.need_id).in_(open_needs_alone))
            .order_by(col(Placement.declined_at).desc())
            .limit(LIMIT)
        ).all()
    )


def new_interests(session: Session, *, county_code: str, since: datetime) -> list[Interest]:
    """Active interests in the county's open needs, from people not yet proposed for them."""
    proposed = exists().where(
        and_(
            col(Placement.need_id) == col(Interest.need_id),
            col(Placement.profile_id) == col(Interest.profile_id),
        )
    )
    return list(
        session.exec(
            select(Interest)
            .join(Need, col(Need.id) == Interest.need_id)
            .where(Need.county_code == county_code, Need.status == "open")
            .where(Interest.status == "active", col(Interest.created_at) >= since)
            .where(~proposed)
            .order_by(col(Interest.created_at).desc())
            .limit(LIMIT)
        ).all()
    )


# --- the lists as pages show them --------------------------------------------------------------


@dataclass(frozen=True)
class Todo:
    group: str  # heading of the group on the page
    text: str
    link: str
    since: datetime | None = None


def _names(session: Session, profile_ids: set[int]) -> dict[int, str]:
    if not profile_ids:
        return {}
    rows = session.exec(select(Profile.id, Profile.name).where(col(Profile.id).in_(profile_ids)))
    return {int(i or 0): n for i, n in rows.all()}


def _titles(session: Session, need_ids: set[int]) -> dict[int, str]:
    if not need_ids:
        return {}
    rows = session.exec(select(Need.id, Need.title).where(col(Need.id).in_(need_ids)))
    return {int(i or 0): t for i, t in rows.all()}


def county_todos(
    session: Session, *, county_code: str, now: datetime, report_days: int, recent_days: int = 30
) -> list[Todo]:
    since = now - timedelta(days=recent_days)
    waiting = accepted_not_started(session, county_code=county_code)
    due = reports_due(session, before=now - timedelta(days=report_days), county_code=county_code)
    empty = needs_without_proposal(session, county_code=county_code)
    declined = declines_to_replan(session, county_code=county_code, since=since)
    interests = new_interests(session, county_code=county_code, since=since)
    placements = [*waiting, *(d.placement for d in due), *declined]
    names = _names(session, {p.profile_id for p in placements} | {i.profile_id for i in interests})
    titles = _titles(session, {p.need_id for p in placements} | {i.need_id for i in interests})
    items: list[Todo] = []
    for p in waiting:
        items.append(
            Todo(
                "已接受待开始",
                f"{names.get(p.profile_id, '')}已接受「{titles.get(p.need_id, '')}」，"
                "请确认开始服务",
                f"/placements/{p.id}",
                p.accepted_at,
            )
        )
    for d in due:
        p = d.placement
        items.append(
            Todo(
                "服务记录逾期",
                f"{names.get(p.profile_id, '')}在「{titles.get(p.need_id, '')}」"
                f"已 {(now - d.last_at).days} 天无服务记录",
                f"/placements/{p.id}#report-form",
                d.last_at,
            )
        )
    for n in empty:
        items.append(
            Todo(
                "尚无推荐的需求",
                f"「{n.title}」还没有推荐人选",
                f"/needs/{n.id}/matches",
                n.created_at,
            )
        )
    for p in declined:
        items.append(
            Todo(
                "婉拒后待重新推荐",
                f"{names.get(p.profile_id, '')}婉拒了「{titles.get(p.need_id, '')}」",
                f"/needs/{p.need_id}/matches",
                p.declined_at,
            )
        )
    for i in interests:
        items.append(
            Todo(
                "新的人才意向",
                f"{names.get(i.profile_id, '')}对「{titles.get(i.need_id, '')}」有意向",
                f"/needs/{i.need_id}/interests",
                i.created_at,
            )
        )
    return items


def talent_todos(
    session: Session, *, profile_id: int, now: datetime, report_days: int
) -> list[Todo]:
    proposals = unanswered_proposals(session, profile_id=profile_id)
    due = reports_due(session, before=now - timedelta(days=report_days), profile_id=profile_id)
    titles = _titles(session, {p.need_id for p in proposals} | {d.placement.need_id for d in due})
    items = [
        Todo(
            "待答复的推荐",
            f"「{titles.get(p.need_id, '')}」邀请您参与，请接受或婉拒",
            f"/placements/{p.id}",
            p.created_at,
        )
        for p in proposals
    ]
    items += [
        Todo(
            "待提交的服务记录",
            f"「{titles.get(d.placement.need_id, '')}」已 {(now - d.last_at).days} 天无服务记录",
            f"/placements/{d.placement.id}#report-form",
            d.last_at,
        )
        for d in due
    ]
    return items
