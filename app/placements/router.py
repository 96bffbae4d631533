from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import Response

from app.audit import service as audit_service
from app.audit.schemas import AuditEventPublic
from app.auth.actor import Actor
from app.auth.policy import AnyActor, CountyActor, GuardedRoute, allow
from app.common import (
    CountyCodeQuery,
    DateQuery,
    IdPath,
    Page,
    PageQuery,
    PageSizeQuery,
    Program,
    Region,
    Role,
    TextQuery,
)
from app.db import SessionDep
from app.idempotency.service import IdempotencyDep
from app.placements import export, queries, service
from app.placements.history import placement_history
from app.placements.schemas import (
    CancelIn,
    DeclineIn,
    PlacementCreate,
    PlacementFilters,
    PlacementPublic,
    PlacementStatus,
    ReportCreate,
    ReportPublic,
    TransitionIn,
)

router = APIRouter(prefix="/api/v1/placements", tags=["人才对接"], route_class=GuardedRoute)

ParticipantActor = Annotated[Actor, allow(Role.admin, Role.county, Role.talent)]
AuditorActor = Annotated[Actor, allow(Role.admin, Role.province)]


def _filters(
    county_code: CountyCodeQuery = None,
    prefecture: TextQuery = None,
    region: Region | None = None,
    program: Program | None = None,
    status: PlacementStatus | None = None,
    profile_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    need_id: Annotated[int | None, Query(ge=1, le=2_147_483_647)] = None,
    date_from: Annotated[DateQuery, Query(description="推荐日期起（含），YYYY-MM-DD")] = None,
    date_to: Annotated[DateQuery, Query(description="推荐日期止（含），YYYY-MM-DD")] = None,
) -> PlacementFilters:
    return PlacementFilters(
        county_code=county_code,
        prefecture=prefecture,
        region=region,
        program=program,
        status=status,
        profile_id=profile_id,
        need_id=need_id,
        date_from=date_from,
        date_to=date_to,
    )


FiltersDep = Annotated[PlacementFilters, Depends(_filters)]


@router.post("", response_model=PlacementPublic, status_code=201)
def propose(
    request: Request,
    session: SessionDep,
    actor: CountyActor,
    data: PlacementCreate,
    idem: IdempotencyDep,
) -> PlacementPublic:
    """县局为本县需求推荐人选（不在匹配名单中的须填写理由）。"""
    idem.begin(session, actor)
    placement = service.propose(
        session,
        data=data,
        actor=actor,
        matcher=request.app.state.matcher,
        window=request.app.state.settings.match_window,
    )
    result = queries.to_public(session, placement)
    idem.commit(session, actor, 201, result)
    return result


@router.get("", response_model=Page[PlacementPublic])
def list_placements(
    session: SessionDep,
    actor: AnyActor,
    filters: FiltersDep,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> Page[PlacementPublic]:
    """对接记录列表：省、管理员看全部，县局看本县，人才看自己的。"""
    rows, total = queries.list_placements(
        session, actor=actor, filters=filters, page=page, page_size=page_size
    )
    items = queries.to_public_many(session, rows)
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/export")
def export_placements(
    session: SessionDep,
    actor: AuditorActor,
    filters: FiltersDep,
    format: Annotated[str, Query(pattern="^(csv|xlsx)$", description="csv 或 xlsx")] = "xlsx",
) -> Response:
    """导出对接记录（CSV 带 BOM 或 Excel），表头为中文。"""
    rows = export.rows(session, actor=actor, filters=filters)
    if format == "csv":
        return Response(
            content=export.to_csv(rows),
            media_type="text/csv; charset=utf-8",
            headers=export.disposition("csv"),
        )
    return Response(
        content=export.to_xlsx(rows),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=export.disposition("xlsx"),
    )


@router.get("/{placement_id}", response_model=PlacementPublic)
def read_placement(session: SessionDep, actor: AnyActor, placement_id: IdPath) -> PlacementPublic:
    """查看一条对接记录。"""
    return queries.to_public(session, queries.get_for_read(session, placement_id, actor))


def _transition(
    session: SessionDep,
    actor: Actor,
    idem: IdempotencyDep,
    placement_id: int,
    action: str,
    note: str | None = None,
    reason: str | None = None,
    decline_code: str | None = None,
) -> PlacementPublic:
    idem.begin(session, actor)
    placement = service.transition(
        session,
        placement_id=placement_id,
        action=action,
        actor=actor,
        note=note,
        reason=reason,
        decline_code=decline_code,
    )
    result = queries.to_public(session, placement)
    idem.commit(session, actor, 200, result)
    return result


def _simple_transition(action: str, summary: str) -> None:
    """Register ``POST /{id}/<action>`` for a step that takes an optional note."""

    def endpoint(
        session: SessionDep,
        actor: ParticipantActor,
        placement_id: IdPath,
        idem: IdempotencyDep,
        data: TransitionIn | None = None,
    ) -> PlacementPublic:
        return _transition(session, actor, idem, placement_id, action, data.note if data else None)

    endpoint.__name__ = endpoint.__qualname__ = action
    endpoint.__doc__ = summary
    router.post(f"/{{placement_id}}/{action}", response_model=PlacementPublic)(endpoint)


_simple_transition("accept", "人才接受推荐。")


@router.post("/{placement_id}/decline", response_model=PlacementPublic)
def decline(
    session: SessionDep,
    actor: ParticipantActor,
    placement_id: IdPath,
    idem: IdempotencyDep,
    data: DeclineIn,
) -> PlacementPublic:
    """人才婉拒推荐（须选择理由，县局会收到通知）。"""
    return _transition(
        session,
        actor,
        idem,
        placement_id,
        "decline",
        note=data.note,
        reason=data.reason,
        decline_code=data.reason_code,
    )


_simple_transition("start", "县局确认开始服务。")
_simple_transition("complete", "县局确认服务完成（须已有服务记录）。")


@router.post("/{placement_id}/cancel", response_model=PlacementPublic)
def cancel(
    session: SessionDep,
    actor: ParticipantActor,
    placement_id: IdPath,
    idem: IdempotencyDep,
    data: CancelIn,
) -> PlacementPublic:
    """取消对接（县局或人才，须说明理由）。"""
    return _transition(session, actor, idem, placement_id, "cancel", reason=data.reason)


@router.post("/{placement_id}/reports", response_model=ReportPublic, status_code=201)
def add_report(
    session: SessionDep, actor: ParticipantActor, placement_id: IdPath, data: ReportCreate
) -> ReportPublic:
    """提交服务记录（服务天数、培训人次、解决难题、推广技术、带动就业）。"""
    report = service.add_report(session, placement_id=placement_id, data=data, actor=actor)
    session.commit()
    return queries.report_public(report)


@router.get("/{placement_id}/reports", response_model=list[ReportPublic])
def list_reports(session: SessionDep, actor: AnyActor, placement_id: IdPath) -> list[ReportPublic]:
    """某条对接的服务记录。"""
    queries.get_for_read(session, placement_id, actor)
    return [queries.report_public(r) for r in queries.reports_of(session, placement_id)]


@router.get("/{placement_id}/history", response_model=list[AuditEventPublic])
def history(session: SessionDep, actor: AnyActor, placement_id: IdPath) -> list[AuditEventPublic]:
    """对接的完整历史（审计事件，含服务记录）。"""
    queries.get_for_read(session, placement_id, actor)
    return [audit_service.to_public(e) for e in placement_history(session, placement_id)]
