"""Placement writes: proposing a person, the steps of ``rules.TRANSITIONS``, service reports.

Each write records its audit event in the same transaction. The ones that can take or free a
place lock their rows first, in the order ``locks`` describes, and count under those locks.
"""

import json
from typing import Any

from sqlmodel import Session

from app.audit import service as audit
from app.auth.actor import Actor
from app.common import NeedStatus
from app.db import utcnow
from app.errors import AppError, conflict, forbidden
from app.interests import service as interests
from app.matches import service as matches
from app.matches.matcher import Matcher
from app.needs import service as needs
from app.needs.models import Need
from app.placements import counts, locks, notices, queries
from app.placements.models import Placement, ServiceReport
from app.placements.queries import get, report_count
from app.placements.rules import TIMESTAMP_OF, TRANSITIONS, can_read, may_act, may_report
from app.placements.schemas import (
    STATUS_LABELS,
    PlacementCreate,
    PlacementStatus,
    ReportCreate,
)
from app.plans import service as plans
from app.profiles.models import Profile

AUDITED = (
    "need_id profile_id county_code program status off_list match_rank match_score "
    "model_version note reason cancel_reason decline_code decline_note interest_id plan_id"
).split()
REPORT_AUDITED = (
    "placement_id period service_days trainings problems_solved techniques_promoted "
    "jobs_created text"
).split()


def snapshot(p: Placement) -> dict[str, Any]:
    return audit.fields_of(p, AUDITED)


def report_snapshot(r: ServiceReport) -> dict[str, Any]:
    return audit.fields_of(r, REPORT_AUDITED)


def _illegal_from(status: str, doing: str) -> AppError:
    return AppError(
        409,
        "illegal_transition",
        f"对接当前状态为「{STATUS_LABELS[PlacementStatus(status)]}」，不能{doing}",
        field="status",
        extra={"status": status},
    )


def _set_need_status(session: Session, need: Need, status: str, actor: Actor, why: str) -> None:
    if need.status == status:
        return
    needs.set_status(session, need=need, status=status, actor=actor, cause=why)


# --- propose ----------------------------------------------------------------------------------


def propose(
    session: Session, *, data: PlacementCreate, actor: Actor, matcher: Matcher, window: int
) -> Placement:
    need, profile = locks.need_then_profile(session, data.need_id, data.profile_id)
    if need is None:
        raise AppError(404, "not_found", "需求不存在", field="need_id")
    if not needs.can_write(actor, need):
        raise forbidden("只能为本县的需求推荐人选")
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
    live = counts.live_profiles_of_need(session, need.id).get(profile.id)
    if live is not None:
        raise conflict(
            "already_proposed",
            f"该人选已在此需求的对接中（编号 {live}）",
            field="profile_id",
            placement_id=live,
        )
    if counts.open_count_of_profile(session, profile.id) >= profile.capacity:
        raise conflict("capacity_reached", "该人才的服务容量已满，不能再推荐", field="profile_id")
    if data.interest_id is not None:
        interests.for_proposal(
            session, interest_id=data.interest_id, need_id=need.id, profile_id=profile.id
        )
    if data.plan_id is not None:
        plans.for_proposal(session, plan_id=data.plan_id, need_id=need.id, profile_id=profile.id)
    previous = queries.previous_for(session, need.id, profile.id)
    if previous is not None and not data.repeat:
        raise conflict(
            "proposed_before",
            f"该人选此前已被推荐过此需求：{queries.describe_previous(previous)}。"
            "如仍要再次推荐，请确认后重新提交",
            field="repeat",
            placement_id=previous.id,
        )

    placement = _new_placement(session, data, need, profile, actor, matcher, window)
    audit.record_saved(
        session,
        actor=actor,
        action="placement.propose",
        entity="placement",
        row=placement,
        after=snapshot(placement),
        context={
            "match_rank": placement.match_rank,
            "match_score": placement.match_score,
            "model_version": placement.model_version,
            "off_list": placement.off_list,
        },
    )
    notices.placement_step(session, placement, need, profile, "propose")
    return placement


def _new_placement(
    session: Session,
    data: PlacementCreate,
    need: Need,
    profile: Profile,
    actor: Actor,
    matcher: Matcher,
    window: int,
) -> Placement:
    """The proposed placement, with where the person stood on the need's match list; someone
    not on it needs a reason (a plan's advice is one)."""
    assert need.id is not None
    assert profile.id is not None
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
        interest_id=data.interest_id,
        plan_id=data.plan_id,
    )
    if found.rank is not None:
        placement.match_rank = found.rank
        placement.match_score = found.score
        placement.match_components = json.dumps(found.components, sort_keys=True)
    elif data.plan_id is not None:
        # The province's plan is the reason: its list then was not the list now.
        placement.off_list = True
        placement.reason = data.reason or f"省级统筹规划 #{data.plan_id} 建议"
        return placement
    elif not data.reason:
        raise AppError(
            422,
            "reason_required",
            f"该人选不在此需求当前匹配名单（前 {window} 名）中，请填写推荐理由",
            field="reason",
        )
    else:
        placement.off_list = True
    placement.reason = data.reason
    return placement


# --- transitions ------------------------------------------------------------------------------


def transition(
    session: Session,
    *,
    placement_id: int,
    action: str,
    actor: Actor,
    note: str | None = None,
    reason: str | None = None,
    decline_code: str | None = None,
) -> Placement:
    step = TRANSITIONS[action]
    placement = locks.placement(session, placement_id)
    if not may_act(session, actor, placement, action):
        if not can_read(session, actor, placement):
            raise forbidden("无权操作该对接记录")
        raise forbidden(f"当前角色不能{step.verb}该对接")
    need, profile = locks.need_then_profile(session, placement.need_id, placement.profile_id)
    assert need is not None
    assert profile is not None
    if placement.status not in step.sources:
        raise _illegal_from(placement.status, step.verb)
    if action == "accept":
        _check_room(session, need, profile)
    if action == "complete" and not report_count(session, placement_id):
        raise conflict("report_required", "完成前需至少提交一份服务记录", field="reports")

    before = snapshot(placement)
    was_open = placement.status in counts.OPEN_STATUSES
    placement.status = step.target
    setattr(placement, TIMESTAMP_OF[step.target], utcnow())
    placement.updated_at = utcnow()
    if action == "cancel":
        placement.cancel_reason = reason
    if action == "decline":
        placement.decline_code = decline_code
        placement.decline_note = reason
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
    _update_need_status(session, need, placement, action, was_open, actor)
    notices.placement_step(session, placement, need, profile, action)
    return placement


def _check_room(session: Session, need: Need, profile: Profile) -> None:
    """Accepting takes a place in the person's capacity and in the need's headcount."""
    assert profile.id is not None
    assert need.id is not None
    if counts.open_count_of_profile(session, profile.id) >= profile.capacity:
        raise conflict("capacity_reached", "服务容量已满，不能再接受新的对接", field="profile_id")
    if (
        need.status != NeedStatus.open
        or counts.open_count_of_need(session, need.id) >= need.headcount
    ):
        raise conflict("need_full", "该需求已满员或已关闭", field="need_id")


def _update_need_status(
    session: Session, need: Need, placement: Placement, action: str, was_open: bool, actor: Actor
) -> None:
    """A need fills with its last accepted place and opens again when a held place is cancelled."""
    assert need.id is not None
    if action == "accept" and counts.open_count_of_need(session, need.id) >= need.headcount:
        _set_need_status(
            session, need, NeedStatus.filled, actor, f"placement {placement.id} accepted"
        )
    if action == "cancel" and was_open and need.status == NeedStatus.filled:
        if counts.open_count_of_need(session, need.id) < need.headcount:
            _set_need_status(
                session, need, NeedStatus.open, actor, f"placement {placement.id} cancelled"
            )


# --- service reports --------------------------------------------------------------------------


def add_report(
    session: Session, *, placement_id: int, data: ReportCreate, actor: Actor
) -> ServiceReport:
    placement = get(session, placement_id)
    if not may_report(session, actor, placement):
        raise forbidden("只有本人、所在县或管理员可以提交服务记录")
    if placement.status not in counts.OPEN_STATUSES:
        raise _illegal_from(placement.status, "提交服务记录")
    report = ServiceReport(placement_id=placement_id, author_id=actor.id, **data.model_dump())
    audit.record_saved(
        session,
        actor=actor,
        action="report.create",
        entity="service_report",
        row=report,
        after=report_snapshot(report),
        context={"placement_id": placement_id},
    )
    return report
