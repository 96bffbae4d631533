"""A placement's life: proposed → accepted | declined → active → completed, or cancelled.

Capacity rules (DOMAIN.md): a person's accepted + active placements never exceed their
capacity, a need's never exceed its headcount. They hold under concurrent requests because
every change that can consume or free a place locks the need row and then the profile row
(always in that order) before counting: ``SELECT … FOR UPDATE`` on PostgreSQL, and on SQLite
the whole write transaction is serialised by BEGIN IMMEDIATE.
"""

import json
from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta
from typing import Any, TypeVar

from sqlalchemy import func
from sqlmodel import Session, SQLModel, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.common import NeedStatus, Role
from app.counties.models import County
from app.db import get_or_404, page_of, utcnow
from app.errors import AppError, conflict, forbidden
from app.matches import service as matches
from app.matches.matcher import Matcher
from app.needs import service as needs
from app.needs.models import Need
from app.placements.models import LIVE_STATUSES, OPEN_STATUSES, Placement, ServiceReport
from app.placements.schemas import (
    STATUS_LABELS,
    PlacementCreate,
    PlacementFilters,
    PlacementPublic,
    PlacementStatus,
    ReportCreate,
    ReportPublic,
)
from app.profiles import service as profiles
from app.profiles.models import Profile

# action -> (states it may start from, state it leads to)
TRANSITIONS: dict[str, tuple[tuple[str, ...], str]] = {
    "accept": (("proposed",), "accepted"),
    "decline": (("proposed",), "declined"),
    "start": (("accepted",), "active"),
    "complete": (("active",), "completed"),
    "cancel": (("proposed", "accepted", "active"), "cancelled"),
}
ACTION_LABELS = {
    "accept": "接受",
    "decline": "婉拒",
    "start": "开始服务",
    "complete": "完成",
    "cancel": "取消",
}
TIMESTAMP_OF = {
    "accepted": "accepted_at",
    "declined": "declined_at",
    "active": "started_at",
    "completed": "completed_at",
    "cancelled": "cancelled_at",
}


def snapshot(p: Placement) -> dict[str, Any]:
    return {
        "need_id": p.need_id,
        "profile_id": p.profile_id,
        "county_code": p.county_code,
        "program": p.program,
        "status": p.status,
        "off_list": p.off_list,
        "match_rank": p.match_rank,
        "match_score": p.match_score,
        "model_version": p.model_version,
        "note": p.note,
        "reason": p.reason,
        "cancel_reason": p.cancel_reason,
    }


def report_snapshot(r: ServiceReport) -> dict[str, Any]:
    return {
        "placement_id": r.placement_id,
        "period": r.period,
        "service_days": r.service_days,
        "trainings": r.trainings,
        "problems_solved": r.problems_solved,
        "techniques_promoted": r.techniques_promoted,
        "jobs_created": r.jobs_created,
        "text": r.text,
    }


# --- access -----------------------------------------------------------------------------------


def _owns_profile(session: Session, actor: Actor, profile_id: int) -> bool:
    if actor.role != Role.talent or actor.id is None:
        return False
    profile = session.get(Profile, profile_id)
    return profile is not None and profile.owner_id == actor.id


def _is_county_of(actor: Actor, placement: Placement) -> bool:
    return actor.role == Role.county and actor.county_code == placement.county_code


def can_read(session: Session, actor: Actor, placement: Placement) -> bool:
    if actor.is_role(Role.admin, Role.province):
        return True
    return _is_county_of(actor, placement) or _owns_profile(session, actor, placement.profile_id)


def may_act(session: Session, actor: Actor, placement: Placement, action: str) -> bool:
    if actor.is_admin:
        return True
    if action in ("accept", "decline"):
        return _owns_profile(session, actor, placement.profile_id)
    if action in ("start", "complete"):
        return _is_county_of(actor, placement)
    if action == "cancel":
        return _is_county_of(actor, placement) or _owns_profile(
            session, actor, placement.profile_id
        )
    return False


def may_report(session: Session, actor: Actor, placement: Placement) -> bool:
    """Service reports come from the placed person, the county of the placement, or admin."""
    return (
        actor.is_admin
        or _is_county_of(actor, placement)
        or _owns_profile(session, actor, placement.profile_id)
    )


def get(session: Session, placement_id: int) -> Placement:
    return get_or_404(session, Placement, placement_id, "对接记录")


def get_for_read(session: Session, placement_id: int, actor: Actor) -> Placement:
    placement = get(session, placement_id)
    if not can_read(session, actor, placement):
        raise forbidden("无权查看该对接记录")
    return placement


_Row = TypeVar("_Row", bound=SQLModel)


# --- locking and counting ---------------------------------------------------------------------


def _locked(session: Session, model: type[_Row], row_id: int) -> _Row | None:
    """``model`` row ``row_id`` read afresh under a row lock (FOR UPDATE on PostgreSQL; SQLite's
    BEGIN IMMEDIATE already serialises writers)."""
    return session.get(model, row_id, with_for_update=True, populate_existing=True)


def _set_need_status(session: Session, need: Need, status: str, actor: Actor, why: str) -> None:
    if need.status == status:
        return
    before = needs.snapshot(need)
    need.status = status
    need.updated_at = utcnow()
    session.add(need)
    audit.record(
        session,
        actor=actor,
        action="need.update",
        entity="need",
        entity_id=need.id,
        before=before,
        after=needs.snapshot(need),
        context={"cause": why},
    )


# --- writes -----------------------------------------------------------------------------------


def propose(
    session: Session, *, data: PlacementCreate, actor: Actor, matcher: Matcher, window: int
) -> Placement:
    need = _locked(session, Need, data.need_id)
    if need is None:
        raise AppError(404, "not_found", "需求不存在", field="need_id")
    if not needs.can_write(actor, need):
        raise forbidden("只能为本县的需求推荐人选")
    profile = _locked(session, Profile, data.profile_id)
    if profile is None:
        raise AppError(404, "not_found", "人才档案不存在", field="profile_id")
    if need.status != NeedStatus.open:
        raise conflict(
            "need_not_open",
            "该需求已满员或已关闭，不能再推荐人选",
            field="need_id",
            need_status=need.status,
        )
    if not profile.active:
        raise conflict("profile_inactive", "该人才档案已停用，不能推荐", field="profile_id")
    assert need.id is not None
    assert profile.id is not None
    live = session.exec(
        select(Placement.id).where(
            Placement.need_id == need.id,
            Placement.profile_id == profile.id,
            col(Placement.status).in_(LIVE_STATUSES),
        )
    ).first()
    if live is not None:
        raise conflict(
            "already_proposed",
            f"该人选已在此需求的对接中（编号 {live}）",
            field="profile_id",
            placement_id=live,
        )
    if profiles.open_placements(session, profile.id) >= profile.capacity:
        raise conflict("capacity_reached", "该人才的服务容量已满，不能再推荐", field="profile_id")

    found = matches.provenance(session, matcher, need=need, profile_id=profile.id, window=window)
    placement = Placement(
        need_id=need.id,
        profile_id=profile.id,
        county_code=need.county_code,
        program=need.program,
        status="proposed",
        note=data.note,
        proposed_by_id=actor.id,
        model_version=found.model_version,
    )
    if found.rank is not None:
        placement.match_rank = found.rank
        placement.match_score = found.score
        placement.match_components = json.dumps(found.components, sort_keys=True)
        placement.reason = data.reason
    else:
        if not data.reason:
            raise AppError(
                422,
                "reason_required",
                f"该人选不在此需求当前匹配名单（前 {window} 名）中，请填写推荐理由",
                field="reason",
            )
        placement.off_list = True
        placement.reason = data.reason
    session.add(placement)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="placement.propose",
        entity="placement",
        entity_id=placement.id,
        after=snapshot(placement),
        context={
            "match_rank": placement.match_rank,
            "match_score": placement.match_score,
            "model_version": placement.model_version,
            "off_list": placement.off_list,
        },
    )
    return placement


def transition(
    session: Session,
    *,
    placement_id: int,
    action: str,
    actor: Actor,
    note: str | None = None,
    reason: str | None = None,
) -> Placement:
    peek = get(session, placement_id)
    if not may_act(session, actor, peek, action):
        if not can_read(session, actor, peek):
            raise forbidden("无权操作该对接记录")
        raise forbidden(f"当前角色不能{ACTION_LABELS[action]}该对接")
    # Lock in the fixed order (need, profile), then re-read the placement under the locks.
    need = _locked(session, Need, peek.need_id)
    profile = _locked(session, Profile, peek.profile_id)
    placement = session.exec(
        select(Placement)
        .where(Placement.id == placement_id)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()
    assert need is not None
    assert profile is not None
    allowed_from, target = TRANSITIONS[action]
    if placement.status not in allowed_from:
        raise AppError(
            409,
            "illegal_transition",
            f"对接当前状态为「{STATUS_LABELS[PlacementStatus(placement.status)]}」，不能{ACTION_LABELS[action]}",
            field="status",
            extra={"status": placement.status},
        )
    if action == "accept":
        assert profile.id is not None
        assert need.id is not None
        if profiles.open_placements(session, profile.id) >= profile.capacity:
            raise conflict(
                "capacity_reached", "服务容量已满，不能再接受新的对接", field="profile_id"
            )
        if (
            need.status != NeedStatus.open
            or needs.open_placements(session, need.id) >= need.headcount
        ):
            raise conflict("need_full", "该需求已满员或已关闭", field="need_id")
    if action == "complete":
        reports = session.exec(
            select(func.count())
            .select_from(ServiceReport)
            .where(ServiceReport.placement_id == placement.id)
        ).one()
        if not reports:
            raise conflict("report_required", "完成前需至少提交一份服务记录", field="reports")

    before = snapshot(placement)
    was_open = placement.status in OPEN_STATUSES
    placement.status = target
    setattr(placement, TIMESTAMP_OF[target], utcnow())
    placement.updated_at = utcnow()
    if action == "cancel":
        placement.cancel_reason = reason
    if note:
        placement.note = note if not placement.note else f"{placement.note}\n{note}"
    session.add(placement)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action=f"placement.{action}",
        entity="placement",
        entity_id=placement.id,
        before=before,
        after=snapshot(placement),
        context={"reason": reason} if reason else None,
    )
    assert need.id is not None
    if action == "accept" and needs.open_placements(session, need.id) >= need.headcount:
        _set_need_status(
            session, need, NeedStatus.filled, actor, f"placement {placement.id} accepted"
        )
    if action == "cancel" and was_open and need.status == NeedStatus.filled:
        if needs.open_placements(session, need.id) < need.headcount:
            _set_need_status(
                session, need, NeedStatus.open, actor, f"placement {placement.id} cancelled"
            )
    return placement


def add_report(
    session: Session, *, placement_id: int, data: ReportCreate, actor: Actor
) -> ServiceReport:
    placement = get(session, placement_id)
    if not may_report(session, actor, placement):
        raise forbidden("只有本人、所在县或管理员可以提交服务记录")
    if placement.status not in ("accepted", "active"):
        raise AppError(
            409,
            "illegal_transition",
            f"对接当前状态为「{STATUS_LABELS[PlacementStatus(placement.status)]}」，不能提交服务记录",
            field="status",
            extra={"status": placement.status},
        )
    report = ServiceReport(placement_id=placement_id, author_id=actor.id, **data.model_dump())
    session.add(report)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="report.create",
        entity="service_report",
        entity_id=report.id,
        after=report_snapshot(report),
        context={"placement_id": placement_id},
    )
    return report


# --- reads ------------------------------------------------------------------------------------


def to_public(session: Session, p: Placement) -> PlacementPublic:
    need = session.get(Need, p.need_id)
    profile = session.get(Profile, p.profile_id)
    county = session.get(County, p.county_code)
    assert need is not None
    assert profile is not None
    assert county is not None
    assert p.id is not None
    report_count = session.exec(
        select(func.count()).select_from(ServiceReport).where(ServiceReport.placement_id == p.id)
    ).one()
    return PlacementPublic(
        id=p.id,
        need_id=p.need_id,
        need_title=need.title,
        profile_id=p.profile_id,
        profile_name=profile.name,
        county_code=p.county_code,
        county_name=county.name,
        program=p.program,
        status=PlacementStatus(p.status),
        status_label=STATUS_LABELS[PlacementStatus(p.status)],
        off_list=p.off_list,
        match_rank=p.match_rank,
        match_score=p.match_score,
        match_components=json.loads(p.match_components) if p.match_components else None,
        model_version=p.model_version,
        note=p.note,
        reason=p.reason,
        cancel_reason=p.cancel_reason,
        created_at=p.created_at,
        updated_at=p.updated_at,
        accepted_at=p.accepted_at,
        declined_at=p.declined_at,
        started_at=p.started_at,
        completed_at=p.completed_at,
        cancelled_at=p.cancelled_at,
        report_count=int(report_count),
    )


def report_public(r: ServiceReport) -> ReportPublic:
    assert r.id is not None
    return ReportPublic(
        id=r.id,
        placement_id=r.placement_id,
        author_id=r.author_id,
        period=r.period,
        service_days=r.service_days,
        trainings=r.trainings,
        problems_solved=r.problems_solved,
        techniques_promoted=r.techniques_promoted,
        jobs_created=r.jobs_created,
        text=r.text,
        created_at=r.created_at,
    )


def _day_start(d: Any) -> datetime:
    return datetime.combine(d, time.min, tzinfo=UTC)


def filter_conditions(session: Session, actor: Actor, f: PlacementFilters) -> list[Any]:
    """WHERE clauses for a listing, with the actor's scope applied (and checked)."""
    conditions: list[Any] = []
    county_code = f.county_code
    if actor.role == Role.county:
        if county_code is not None and county_code != actor.county_code:
            raise forbidden("只能查看本县的对接记录")
        county_code = actor.county_code
    if actor.role == Role.talent:
        mine = select(Profile.id).where(Profile.owner_id == actor.id)
        conditions.append(col(Placement.profile_id).in_(mine))
    if county_code:
        conditions.append(Placement.county_code == county_code)
    if f.prefecture or f.region:
        sub = select(County.code)
        if f.prefecture:
            sub = sub.where(County.prefecture == f.prefecture)
        if f.region:
            sub = sub.where(County.region == f.region)
        conditions.append(col(Placement.county_code).in_(sub))
    for name in ("program", "status", "profile_id", "need_id"):
        value = getattr(f, name)
        if value is not None:
            conditions.append(getattr(Placement, name) == value)
    if f.date_from:
        conditions.append(col(Placement.created_at) >= _day_start(f.date_from))
    if f.date_to:
        conditions.append(col(Placement.created_at) < _day_start(f.date_to) + timedelta(days=1))
    return conditions


def list_placements(
    session: Session, *, actor: Actor, filters: PlacementFilters, page: int, page_size: int
) -> tuple[Sequence[Placement], int]:
    conditions = filter_conditions(session, actor, filters)
    order = [col(Placement.created_at).desc(), col(Placement.id).desc()]
    return page_of(session, Placement, conditions, order, page, page_size)


def reports_of(session: Session, placement_id: int) -> Sequence[ServiceReport]:
    return session.exec(
        select(ServiceReport)
        .where(ServiceReport.placement_id == placement_id)
        .order_by(col(ServiceReport.id))
    ).all()
