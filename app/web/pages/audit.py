"""The province's pages: statistics with charts, the monitoring findings, the audit chain."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import Any

from fastapi import APIRouter, Request, Response

from app.audit import service as audit
from app.common import Role
from app.db import SessionDep
from app.stats import service as stats
from app.stats.schemas import GroupBy, GroupStats
from app.web import choices
from app.web.deps import AuditorViewer, PageRoute
from app.web.forms import Form, Pager, QueryArgs
from app.web.history import describe_event
from app.web.pages.inbox import todo_groups
from app.web.templating import BEIJING, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

GROUP_OPTIONS = [
    ("county", "县（市、区）"),
    ("prefecture", "市（州）"),
    ("region", "区域"),
    ("program", "项目类别"),
    ("month", "月份"),
]
# Stacked segments of a placement bar: (css class, legend, statuses).
SERIES = [
    ("s-active", "服务中", ("active",)),
    ("s-completed", "已完成", ("completed",)),
    ("s-pending", "待开展（已推荐、已接受）", ("proposed", "accepted")),
    ("s-ended", "未成（婉拒、取消）", ("declined", "cancelled")),
]
EVENTS_PAGE_SIZE = 50
ENTITY_OPTIONS = [
    ("placement", "对接记录"),
    ("service_report", "服务记录"),
    ("need", "需求"),
    ("profile", "人才档案"),
    ("account", "账号"),
]


@dataclass(frozen=True)
class Segment:
    css: str
    legend: str
    value: int
    x: float
    width: float


@dataclass(frozen=True)
class BarRow:
    label: str
    total: int
    segments: list[Segment]


def bar_rows(groups: list[GroupStats], *, skip_empty: bool = False) -> list[BarRow]:
    """Stacked horizontal bars scaled to the largest group (widths in percent)."""
    top = max((g.total for g in groups), default=0) or 1
    rows = []
    for g in groups:
        if skip_empty and not g.total:
            continue
        x = 0.0
        segments = []
        for css, legend, statuses in SERIES:
            value = sum(getattr(g, s) for s in statuses)
            width = 100.0 * value / top
            if value:
                segments.append(Segment(css, legend, value, round(x, 3), round(width, 3)))
            x += width
        rows.append(BarRow(g.label, g.total, segments))
    return rows


@router.get("/stats")
def statistics(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """对接统计：按县、市（州）、区域、项目或月份，含服务成效与图表。"""
    args = QueryArgs(request)
    group_by = args.choice("group_by", GroupBy) or GroupBy.county
    date_from, date_to = args.day("from"), args.day("to")
    if date_from and date_to and date_from > date_to:
        args.errors["from"] = "起始日期不能晚于截止日期"
        date_from = date_to = None
    result = stats.placement_stats(session, group_by=group_by, date_from=date_from, date_to=date_to)
    by_region = (
        result
        if group_by == GroupBy.region
        else stats.placement_stats(
            session, group_by=GroupBy.region, date_from=date_from, date_to=date_to
        )
    )
    groups = result.groups
    show_all = request.query_params.get("all") == "1"
    hidden = 0
    if group_by in (GroupBy.county, GroupBy.prefecture):
        # Busiest first; the many places with nothing yet are one click away.
        groups = sorted(groups, key=lambda g: -g.total)
        if not show_all:
            hidden = sum(1 for g in groups if not g.total)
            groups = [g for g in groups if g.total]
    return render(
        request,
        "stats/overview.html",
        {
            "title": "统计分析",
            "stats": result,
            "todos": todo_groups(request, session, viewer) if viewer.role == "province" else None,
            "conversation": stats.conversation_stats(session, date_from=date_from, date_to=date_to),
            "groups": groups,
            "hidden": hidden,
            "group_label": dict(GROUP_OPTIONS)[group_by.value],
            "region_bars": bar_rows(by_region.groups),
            "group_bars": bar_rows(groups, skip_empty=True),
            "show_group_chart": group_by != GroupBy.region,
            "series": SERIES,
            "group_options": GROUP_OPTIONS,
            "form": Form(values=dict(request.query_params) | {"group_by": group_by.value}),
            "filter_errors": args.errors,
        },
    )


@router.get("/stats/findings")
def findings(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """监测发现：脱贫县覆盖、超容量人员、名单外推荐、长期无人推荐的需求。"""
    args = QueryArgs(request)
    stale_days = args.integer("stale_days", 30, 1, 3650)
    result = stats.findings(session, stale_days=stale_days)
    totals = stats.placement_stats(session, group_by=GroupBy.program, date_from=None, date_to=None)
    covered = result.poverty_counties_total - len(result.poverty_counties_without_active)
    return render(
        request,
        "stats/findings.html",
        {
            "title": "监测发现",
            "f": result,
            "covered": covered,
            "coverage_pct": 100.0 * covered / (result.poverty_counties_total or 1),
            "total_placements": totals.totals.total,
            "off_list_pct": 100.0 * len(result.off_list) / (totals.totals.total or 1),
            "form": Form(values={"stale_days": str(stale_days)}),
        },
    )


@router.get("/audit")
def chain(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """审计链校验：重新计算整条哈希链，报告第一处不符的序号。"""
    result: dict[str, Any] | None = None
    if request.query_params.get("run"):
        outcome = audit.verify(session)
        result = {
            "ok": outcome.ok,
            "checked": outcome.checked,
            "first_bad_seq": outcome.first_bad_seq,
            "message": audit.VERIFY_MESSAGES[outcome.problem],
            "at": datetime.now(UTC),
        }
    return render(request, "audit/chain.html", {"title": "审计链校验", "result": result})


def _beijing_day_start(value: Any) -> datetime:
    return datetime.combine(value, time.min, tzinfo=BEIJING)


@router.get("/audit/events")
def events(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """审计事件（新的在前），可按操作人、对象、动作、日期筛选。"""
    args = QueryArgs(request)
    since, until = args.day("date_from"), args.day("date_to")
    page = args.page()
    entity = args.text("entity", 30)
    action = args.text("action", 40)
    rows, total = audit.list_events(
        session,
        actor_username=args.text("actor", 64),
        entity=entity,
        entity_id=args.text("entity_id", 20),
        action=action,
        since=_beijing_day_start(since) if since else None,
        until=_beijing_day_start(until) + timedelta(days=1) if until else None,
        # Sign-ins are most of the trail by number: shown only when asked for.
        sign_ins=request.query_params.get("sign_ins") == "1",
        page=page,
        page_size=EVENTS_PAGE_SIZE,
    )
    names = choices.county_names(session)
    reveal = viewer.actor.role == Role.admin
    return render(
        request,
        "audit/events.html",
        {
            "title": "审计事件",
            "events": [
                describe_event(audit.to_public(e, reveal_contacts=reveal), names) for e in rows
            ],
            "pager": Pager(page, EVENTS_PAGE_SIZE, total),
            "form": Form(values=dict(request.query_params)),
            "filter_errors": args.errors,
            "entity_options": ENTITY_OPTIONS,
            "action_options": list(audit.ACTION_LABELS.items()),
        },
    )
