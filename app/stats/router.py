from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response

from app.auth.actor import Actor
from app.auth.policy import GuardedRoute, allow
from app.common import DateQuery, Role
from app.db import SessionDep
from app.errors import AppError
from app.stats import export, service
from app.stats.schemas import ConversationStats, Findings, GroupBy, NeedStats, PlacementStats

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


def _check_period(date_from: date | None, date_to: date | None) -> None:
    if date_from and date_to and date_from > date_to:
        raise AppError(422, "validation_error", "起始日期不能晚于截止日期", field="from")


@router.get("/needs", response_model=NeedStats)
def need_stats(
    session: SessionDep,
    _actor: AuditorActor,
    group_by: GroupBy = GroupBy.county,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> NeedStats:
    """按县、市（州）、区域、项目或月份统计所选期间发布的需求：征集中、已满员、已关闭、从未推荐、已过截止日期。"""
    _check_period(date_from, date_to)
    return service.need_stats(session, group_by=group_by, date_from=date_from, date_to=date_to)


@router.get(
    "/export.xlsx",
    response_class=Response,
    responses={200: {"content": {export.MEDIA_TYPE: {}}, "description": "Excel 工作簿"}},
)
def export_stats(
    session: SessionDep,
    _actor: AuditorActor,
    group_by: GroupBy = GroupBy.county,
    date_from: FromQuery = None,
    date_to: ToQuery = None,
) -> Response:
    """导出统计 Excel：「需求统计」与「对接统计」两张表，按同一分组，中文表头。"""
    _check_period(date_from, date_to)
    return Response(
        export.to_xlsx(
            service.need_stats(session, group_by=group_by, date_from=date_from, date_to=date_to),
            service.placement_stats(
                session, group_by=group_by, date_from=date_from, date_to=date_to
            ),
        ),
        media_type=export.MEDIA_TYPE,
        headers=export.disposition(date_from, date_to),
    )


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
