from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import Response

from app.auth.actor import Actor
from app.auth.policy import AdminActor, GuardedRoute, allow
from app.common import IdPath, Page, PageQuery, PageSizeQuery, Role
from app.db import SessionDep
from app.errors import AppError, conflict
from app.plans import apply as applying
from app.plans import export, service
from app.plans.schemas import (
    ApplyResult,
    PlanCreate,
    PlanListItem,
    PlanPublic,
    PlanStarted,
    PlanStatus,
)

router = APIRouter(prefix="/api/v1/plans", tags=["省级统筹"], route_class=GuardedRoute)

PlannerActor = Annotated[Actor, allow(Role.admin, Role.province)]


def start(request: Request, session: SessionDep, actor: Actor, data: PlanCreate) -> int:
    """Reserve this process's slot, commit the running plan, hand it to the runner (API and
    pages)."""
    if getattr(request.app.state, "matcher", None) is None:
        raise AppError(503, "matcher_unavailable", "匹配服务正在启动，请稍后再试")
    runner = request.app.state.plans
    if not runner.reserve():
        raise conflict("plan_running", "本服务进程正在计算另一个统筹规划，请等待其完成后再发起")
    try:
        plan = service.create(session, data=data, actor=actor)
        session.commit()
    except BaseException:
        session.rollback()
        runner.release()
        raise
    assert plan.id is not None
    runner.launch(plan.id, actor)
    return plan.id


@router.post("", response_model=PlanStarted, status_code=202)
def create_plan(
    request: Request, session: SessionDep, actor: PlannerActor, data: PlanCreate
) -> PlanStarted:
    """发起全省统筹规划（后台计算，返回编号；用 GET 查询进度与结果）。"""
    plan_id = start(request, session, actor, data)
    return PlanStarted(id=plan_id, status=PlanStatus.running)


@router.get("", response_model=Page[PlanListItem])
def list_plans(
    session: SessionDep, actor: PlannerActor, page: PageQuery = 1, page_size: PageSizeQuery = 20
) -> Page[PlanListItem]:
    """统筹规划列表（最新在前）。"""
    rows, total = service.list_plans(session, page=page, page_size=page_size)
    items = [service.to_list_item(session, p) for p in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.get("/{plan_id}", response_model=PlanPublic)
def read_plan(session: SessionDep, actor: PlannerActor, plan_id: IdPath) -> PlanPublic:
    """统筹规划：状态、参数、与先到先得的对比、安排、未满足需求及原因、人才缺口。"""
    return service.to_public(session, service.get(session, plan_id))


@router.get("/{plan_id}/export.xlsx")
def export_plan(session: SessionDep, actor: PlannerActor, plan_id: IdPath) -> Response:
    """导出统筹规划（Excel：概况、规划安排、未满足需求、人才缺口）。"""
    plan = service.to_public(session, service.get(session, plan_id))
    return Response(
        content=export.to_xlsx(plan),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=export.disposition(plan_id),
    )


@router.post("/{plan_id}/apply", response_model=ApplyResult)
def apply_plan(
    request: Request, session: SessionDep, actor: AdminActor, plan_id: IdPath
) -> ApplyResult:
    """按统筹规划批量发出推荐（管理员；已推荐、已满员、已停用的跳过，重复应用不会重复推荐）。"""
    result = applying.apply(
        session,
        plan=service.get(session, plan_id),
        actor=actor,
        matcher=request.app.state.matcher,
        window=int(request.app.state.settings.match_window),
    )
    session.commit()
    return result
