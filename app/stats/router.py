from typing import Annotated

from fastapi import APIRouter, Query

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, allow
from app.common import DateQuery, Role
from app.db import SessionDep
from app.errors import AppError
from app.stats import service
from app.stats.schemas import ConversationStats, Findings, GroupBy, PlacementStats

router = APIRouter(prefix="/api/v1/stats", tags=["统计与监测"], route_class=GuardedRoute)
AuditorActor = Annotated[Actor, allow(Role.admin, Role.province)]
FromQuery = Annotated[
    DateQuery, Query(alias="from", description="起始日期（含，北京时间），YYYY-MM-DD")
]
ToQuery = Annotated[
    DateQuery, Query(alias="to", description="截止日期（含，北京时间），YYYY-MM-DD")
]


@router.get("/placements", response_model=PlacementStats)
def placement_stats(
    session: SessionDep,
    _actor: AuditorActor,
    group_by: GroupBy = GroupBy.county,
    date_from: Annotated[
        DateQuery, Query(alias="from", description="起始日期（含，北京时间），YYYY-MM-DD")
    ] = None,
    date_to: Annotated[
        DateQuery, Query(alias="to", description="截止日期（含，北京时间），YYYY-MM-DD")
    ] = None,
) -> PlacementStats:
    """按县、市（州）、区域、项目或月份统计对接数量与服务成效。"""
    if date_from and date_to and date_from > date_to:
        raise AppError(422, "validation_error", "起始日期不能晚于截止日期", field="from")
    return service.placement_stats(session, group_by=group_by, date_from=date_from, date_to=date_to)


@router.get("/findings", response_model=Findings)
def findings(
    session: SessionDep,
    _actor: AuditorActor,
    stale_days: Annotated[int, Query(ge=1, le=3650, description="需求征集超过多少天仍无推荐")] = 30,
) -> Findings:
    """审计关注事项：目前无人在岗服务的脱贫县、超容量人员、名单外推荐、长期无人推荐的需求。"""
    return service.findings(session, stale_days=stale_days)


@router.get("/conversation", response_model=ConversationStats)
def conversation_stats(
    session: SessionDep, _actor: AuditorActor, date_from: FromQuery = None, date_to: ToQuery = None
) -> ConversationStats:
    """推荐与答复：答复用时中位数、婉拒理由、收到的意向、发出与已认领的邀请。"""
    if date_from and date_to and date_from > date_to:
        raise AppError(422, "validation_error", "起始日期不能晚于截止日期", field="from")
    return service.conversation_stats(session, date_from=date_from, date_to=date_to)
