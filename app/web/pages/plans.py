"""The province's plans (全省统筹): run one, watch it, read it, export it; admin applies it."""

from __future__ import annotations

from collections import defaultdict
from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from starlette.datastructures import FormData

from app.common import IdPath
from app.db import SessionDep, utcnow
from app.errors import AppError
from app.plans import apply as applying
from app.plans import export, service
from app.plans.router import start
from app.plans.schemas import AssignmentPublic, PlanCreate, PlanPublic
from app.web import choices
from app.web.deps import MATCHER_MISSING, AdminViewer, AuditorViewer, PageRoute, matcher_of
from app.web.forms import Form, Pager, QueryArgs, non_empty, read_form
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 20
PLAN_LABELS = {
    "min_score": "最低匹配分",
    "max_per_employer": "同一单位每县人数上限",
    "prefecture": "市（州）",
}
# Rows of the plan-versus-baseline table: (figure, label, more is better).
FIGURES = [
    ("open_needs", "规划范围内有空缺的需求", None),
    ("covered_needs", "至少安排一人的需求", True),
    ("filled_needs", "空缺全部安排的需求", True),
    ("unfilled_needs", "仍有空缺的需求", False),
    ("seats_filled", "安排人次", True),
    ("total_score", "匹配分合计", True),
    ("poverty_counties_open", "有空缺需求的脱贫县", None),
    ("poverty_counties_covered", "得到安排的脱贫县", True),
    ("poverty_needs_covered", "得到安排的脱贫县需求", True),
    ("counties_covered", "得到安排的县（市、区）", True),
    ("hometown_placements", "回籍贯县服务人次", True),
]
UNFILLED_SHOWN = 200
SHORTAGE_SHOWN = 50


def _plans_page(
    request: Request, session: SessionDep, form: Form, status_code: int = 200
) -> Response:
    page = QueryArgs(request).page()
    rows, total = service.list_plans(session, page=page, page_size=PAGE_SIZE)
    return render(
        request,
        "plans/list.html",
        {
            "title": "全省统筹",
            "plans": [service.to_list_item(session, p) for p in rows],
            "pager": Pager(page, PAGE_SIZE, total),
            "form": form,
            "prefectures": choices.prefecture_options(session),
            "choices": choices,
        },
        status_code=status_code,
    )


@router.get("/plans")
def list_plans(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """统筹规划：发起新规划（参数表单）与历次规划。"""
    return _plans_page(request, session, Form(values={"poverty_floor": "1"}))


@router.post("/plans")
def run_plan(
    request: Request, session: SessionDep, viewer: AuditorViewer, data: FormDep
) -> Response:
    """按所填参数发起统筹规划（后台计算）。"""
    form = Form.read(data, labels=PLAN_LABELS)
    values = non_empty(
        form.values, ("program", "region", "prefecture", "min_score", "max_per_employer")
    ) | {"poverty_floor": bool(form.get("poverty_floor"))}
    plan_in = form.validate(PlanCreate, values)
    if plan_in is None:
        return _plans_page(request, session, form, 422)
    if matcher_of(request) is None:
        form.general.append(MATCHER_MISSING)
        return _plans_page(request, session, form, 503)
    try:
        plan_id = start(request, session, viewer.actor, plan_in)
    except AppError as exc:
        if exc.status_code in (401, 403, 404):
            raise
        form.add_app_error(exc)
        return _plans_page(request, session, form, exc.status_code)
    return redirect(request, f"/plans/{plan_id}", "规划已开始计算，本页会自动刷新")


def _by_county(items: list[AssignmentPublic]) -> list[tuple[str, list[AssignmentPublic]]]:
    groups: dict[str, list[AssignmentPublic]] = defaultdict(list)
    for a in items:
        groups[a.county_name or "（需求已删除）"].append(a)
    return sorted(groups.items(), key=lambda kv: (-len(kv[1]), kv[0]))


@router.get("/plans/{plan_id}")
def show_plan(
    request: Request, session: SessionDep, viewer: AuditorViewer, plan_id: IdPath
) -> Response:
    """统筹规划详情：进度、与先到先得的对比、按县的安排、未满足需求及原因、人才缺口。"""
    plan: PlanPublic = service.to_public(session, service.get(session, plan_id))
    return render(
        request,
        "plans/detail.html",
        {
            "title": f"统筹规划 #{plan.id}",
            "plan": plan,
            "scope": export.scope_text(plan),
            "figures": FIGURES,
            "counties": _by_county(plan.assignments),
            "unfilled": plan.unfilled[:UNFILLED_SHOWN],
            "shortage": plan.shortage[:SHORTAGE_SHOWN],
            "elapsed": int((utcnow() - plan.created_at).total_seconds()),
            "can_apply": viewer.role == "admin" and plan.status == "done",
        },
    )


@router.get("/plans/{plan_id}/export.xlsx")
def export_plan(
    request: Request, session: SessionDep, viewer: AuditorViewer, plan_id: IdPath
) -> Response:
    """下载统筹规划（Excel）。"""
    plan = service.to_public(session, service.get(session, plan_id))
    return Response(
        content=export.to_xlsx(plan),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=export.disposition(plan_id),
    )


@router.post("/plans/{plan_id}/apply")
def apply_plan(
    request: Request, session: SessionDep, viewer: AdminViewer, plan_id: IdPath
) -> Response:
    """按规划批量发出推荐（管理员）。"""
    matcher = matcher_of(request)
    if matcher is None:
        raise AppError(503, "matcher_unavailable", MATCHER_MISSING)
    result = applying.apply(
        session,
        plan=service.get(session, plan_id),
        actor=viewer.actor,
        matcher=matcher,
        window=int(request.app.state.settings.match_window),
    )
    session.commit()
    message = f"已按规划发出 {result.created} 项推荐"
    if result.skipped:
        message += f"，跳过 {result.skipped} 项（已推荐、需求已满员或关闭、人员已满额等）"
    return redirect(request, f"/plans/{plan_id}", message)
