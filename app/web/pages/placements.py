"""Placements: the list (each role sees its own scope), one placement with its actions and
service reports, its full history, and the Excel export for the province."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response
from sqlmodel import Session
from starlette.datastructures import FormData

from app.audit import service as audit
from app.common import IdPath, Program, Region, Role
from app.db import SessionDep
from app.needs import service as needs
from app.placements import counts, export, history, queries, rules
from app.placements import service as placements
from app.placements.schemas import (
    DECLINE_REASONS,
    CancelIn,
    DeclineIn,
    PlacementFilters,
    PlacementStatus,
    ReportCreate,
)
from app.profiles import service as profiles
from app.web import choices
from app.web.deps import AnyViewer, AuditorViewer, PageRoute, Viewer
from app.web.forms import Form, Pager, QueryArgs, non_empty, read_form, save
from app.web.history import describe_event, field_label
from app.web.templating import redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]
PAGE_SIZE = 20
REPORT_FIELDS = tuple(ReportCreate.model_fields)  # period, the five outcome counts, text
REPORT_LABELS = {f: field_label(f) for f in REPORT_FIELDS}
REPORT_DEFAULTS = dict.fromkeys(REPORT_FIELDS[1:6], "0")
DONE_MESSAGES = {
    "accept": "您已接受推荐，县局将与您联系安排服务",
    "decline": "您已婉拒该推荐",
    "start": "已确认开始服务",
    "complete": "已确认服务完成",
    "cancel": "对接已取消",
}
# Buttons in the order they are offered, with the question asked before the irreversible ones.
ACTIONS = [
    ("accept", "接受推荐", None),
    ("start", "确认开始服务", None),
    ("complete", "确认服务完成", "确认该人选的服务已经完成吗？"),
]


def _filters(request: Request, viewer: Viewer) -> tuple[PlacementFilters, QueryArgs]:
    args = QueryArgs(request)
    province_wide = viewer.role in (Role.admin, Role.province)
    filters = PlacementFilters(
        status=args.choice("status", PlacementStatus),
        program=args.choice("program", Program),
        date_from=args.day("date_from"),
        date_to=args.day("date_to"),
        county_code=args.county() if province_wide else None,
        prefecture=args.text("prefecture", 50) if province_wide else None,
        region=args.choice("region", Region) if province_wide else None,
    )
    return filters, args


@router.get("/placements")
def list_placements(request: Request, session: SessionDep, viewer: AnyViewer) -> Response:
    """对接记录：省与管理员看全省，县局看本县，人才看自己的。"""
    filters, args = _filters(request, viewer)
    page = args.page()
    rows, total = queries.list_placements(
        session, actor=viewer.actor, filters=filters, page=page, page_size=PAGE_SIZE
    )
    province_wide = viewer.role in (Role.admin, Role.province)
    titles = {Role.talent: "我的对接", Role.county: "本县对接记录"}
    return render(
        request,
        "placements/list.html",
        {
            "title": titles.get(Role(viewer.role), "全省对接记录"),
            "placements": queries.to_public_many(session, rows),
            "pager": Pager(page, PAGE_SIZE, total),
            "form": Form(values=dict(request.query_params)),
            "filter_errors": args.errors,
            "province_wide": province_wide,
            "county_options": choices.county_options(session) if province_wide else [],
            "prefecture_options": choices.prefecture_options(session) if province_wide else [],
            "choices": choices,
        },
    )


@router.get("/placements/export")
def export_placements(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """按当前筛选条件导出对接记录（Excel 或带 BOM 的 CSV），表头为中文。"""
    filters, _args = _filters(request, viewer)
    table = export.rows(session, actor=viewer.actor, filters=filters)
    if request.query_params.get("format") == "csv":
        return Response(
            export.to_csv(table),
            media_type="text/csv; charset=utf-8",
            headers=export.disposition("csv"),
        )
    return Response(
        export.to_xlsx(table),
        media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        headers=export.disposition("xlsx"),
    )


# --- one placement ------------------------------------------------------------------------------


def _detail(
    request: Request,
    session: Session,
    viewer: Viewer,
    placement_id: int,
    forms: dict[str, Form] | None = None,
    status_code: int = 200,
) -> Response:
    actor = viewer.actor
    placement = queries.get_for_read(session, placement_id, actor)
    public = queries.to_public(session, placement)
    need = needs.get(session, placement.need_id)
    profile = profiles.get(session, placement.profile_id)
    allowed = {
        action
        for action, step in rules.TRANSITIONS.items()
        if placement.status in step.sources and rules.may_act(session, actor, placement, action)
    }
    may_report = placement.status in counts.OPEN_STATUSES and rules.may_report(
        session, actor, placement
    )
    forms = forms or {}
    return render(
        request,
        "placements/detail.html",
        {
            "title": f"对接 #{placement_id}",
            "p": public,
            "need": needs.to_public(session, need),
            "profile": profiles.to_public(session, actor, profile),
            "reports": [
                queries.report_public(r) for r in queries.reports_of(session, placement_id)
            ],
            "actions": [(a, text, ask) for a, text, ask in ACTIONS if a in allowed],
            "can_cancel": "cancel" in allowed,
            "can_decline": "decline" in allowed,
            "decline_form": forms.get("decline", Form()),
            "decline_reasons": list(DECLINE_REASONS.items()),
            "may_report": may_report,
            "cancel_form": forms.get("cancel", Form()),
            "report_form": forms.get("report", Form(values=dict(REPORT_DEFAULTS))),
            "action_form": forms.get("action", Form()),
        },
        status_code=status_code,
    )


@router.get("/placements/{placement_id}")
def show_placement(
    request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath
) -> Response:
    """对接详情：状态、来源（匹配排名或名单外理由）、联系方式、服务记录与可执行的操作。"""
    return _detail(request, session, viewer, placement_id)


def _transition(
    request: Request,
    session: Session,
    viewer: Viewer,
    placement_id: int,
    action: str,
    reason: str | None = None,
    form_key: str = "action",
    form: Form | None = None,
    decline_code: str | None = None,
) -> Response:
    form = form or Form()
    done = save(
        session,
        form,
        lambda: placements.transition(
            session,
            placement_id=placement_id,
            action=action,
            actor=viewer.actor,
            reason=reason,
            decline_code=decline_code,
        ),
    )
    if done is None:
        return _detail(request, session, viewer, placement_id, {form_key: form}, form.status_code)
    return redirect(request, f"/placements/{placement_id}", DONE_MESSAGES[action])


def _simple_action(action: str) -> Any:
    def handle(
        request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath
    ) -> Response:
        return _transition(request, session, viewer, placement_id, action)

    handle.__name__ = f"placement_{action}"
    handle.__doc__ = f"对接操作：{rules.TRANSITIONS[action].verb}。"
    return handle


for _action in ("accept", "start", "complete"):
    router.add_api_route(
        f"/placements/{{placement_id}}/{_action}", _simple_action(_action), methods=["POST"]
    )


@router.post("/placements/{placement_id}/decline")
def decline_placement(
    request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath, data: FormDep
) -> Response:
    """婉拒推荐（须选择理由）。"""
    form = Form.read(data, labels={"reason_code": "婉拒理由", "reason": "补充说明"})
    decline_in = form.validate(DeclineIn, non_empty(form.values, ("reason_code", "reason")))
    if decline_in is None:
        return _detail(request, session, viewer, placement_id, {"decline": form}, 422)
    return _transition(
        request,
        session,
        viewer,
        placement_id,
        "decline",
        decline_in.reason,
        "decline",
        form,
        decline_code=decline_in.reason_code,
    )


@router.post("/placements/{placement_id}/cancel")
def cancel_placement(
    request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath, data: FormDep
) -> Response:
    """取消对接（须说明理由）。"""
    form = Form.read(data, labels={"reason": "取消理由"})
    cancel_in = form.validate(CancelIn, non_empty(form.values, ("reason",)))
    if cancel_in is None:
        return _detail(request, session, viewer, placement_id, {"cancel": form}, 422)
    return _transition(
        request, session, viewer, placement_id, "cancel", cancel_in.reason, "cancel", form
    )


@router.post("/placements/{placement_id}/reports")
def add_report(
    request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath, data: FormDep
) -> Response:
    """提交服务记录。"""
    form = Form.read(data, labels=REPORT_LABELS)
    report_in = form.validate(ReportCreate, non_empty(form.values, REPORT_FIELDS))
    if report_in is None:
        return _detail(request, session, viewer, placement_id, {"report": form}, 422)
    report = save(
        session,
        form,
        lambda: placements.add_report(
            session, placement_id=placement_id, data=report_in, actor=viewer.actor
        ),
    )
    if report is None:
        return _detail(request, session, viewer, placement_id, {"report": form}, form.status_code)
    return redirect(request, f"/placements/{placement_id}", "服务记录已提交")


@router.get("/placements/{placement_id}/history")
def placement_history(
    request: Request, session: SessionDep, viewer: AnyViewer, placement_id: IdPath
) -> Response:
    """对接的完整历史（审计事件，含服务记录），时间正序。"""
    placement = queries.get_for_read(session, placement_id, viewer.actor)
    events = [audit.to_public(e) for e in history.placement_history(session, placement_id)]
    names = choices.county_names(session)
    return render(
        request,
        "placements/history.html",
        {
            "title": f"对接 #{placement_id} 的历史",
            "p": queries.to_public(session, placement),
            "events": [describe_event(e, names) for e in events],
        },
    )
