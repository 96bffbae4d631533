"""The province's pages: statistics with charts, the monitoring findings, the audit chain."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Path, Request, Response
from fastapi.responses import RedirectResponse

from app.audit import service as audit
from app.common import REGION_LABELS, Region, Role
from app.counties import service as counties
from app.db import BEIJING, SessionDep
from app.stats import export as stats_export
from app.stats import service as stats
from app.stats.schemas import (
    GROUP_LABELS,
    NEED_FIGURES,
    CountyFigures,
    GroupBy,
    GroupStats,
    MapFigure,
    NeedGroupStats,
)
from app.web import choices
from app.web.deps import AuditorViewer, PageRoute
from app.web.forms import Form, Pager, QueryArgs
from app.web.history import describe_event
from app.web.pages.inbox import todo_groups
from app.web.templating import render

router = APIRouter(route_class=PageRoute, include_in_schema=False)

GROUP_OPTIONS = [(g.value, GROUP_LABELS[g]) for g in GroupBy]
# Stacked segments of a bar: (css class, legend, the figures it adds up). A placement bar
# covers every status, a need bar every need status, so a bar's length is the group's total.
Series = list[tuple[str, str, tuple[str, ...]]]
SERIES: Series = [
    ("s-active", "服务中", ("active",)),
    ("s-completed", "已完成", ("completed",)),
    ("s-pending", "待开展（已推荐、已接受）", ("proposed", "accepted")),
    ("s-ended", "未成（婉拒、取消）", ("declined", "cancelled")),
]
NEED_SERIES: Series = [
    ("s-pending", "征集中", ("open",)),
    ("s-completed", "已满员", ("filled",)),
    ("s-ended", "已关闭", ("closed",)),
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


def bar_rows(
    groups: Sequence[GroupStats | NeedGroupStats],
    *,
    series: Series = SERIES,
    skip_empty: bool = False,
) -> list[BarRow]:
    """Stacked horizontal bars scaled to the largest group (widths in percent)."""
    values = [[sum(getattr(g, f) for f in figures) for _, _, figures in series] for g in groups]
    top = max((sum(v) for v in values), default=0) or 1
    rows = []
    for g, parts in zip(groups, values, strict=True):
        if skip_empty and not sum(parts):
            continue
        x = 0.0
        segments = []
        for (css, legend, _), value in zip(series, parts, strict=True):
            width = 100.0 * value / top
            if value:
                segments.append(Segment(css, legend, value, round(x, 3), round(width, 3)))
            x += width
        rows.append(BarRow(g.label, sum(parts), segments))
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
    needs = stats.need_stats(session, group_by=group_by, date_from=date_from, date_to=date_to)
    groups = result.groups
    need_groups = needs.groups
    show_all = request.query_params.get("all") == "1"
    hidden = hidden_needs = 0
    if group_by in (GroupBy.county, GroupBy.prefecture):
        # Busiest first; the many places with nothing yet are one click away.
        groups = sorted(groups, key=lambda g: -g.total)
        need_groups = sorted(need_groups, key=lambda g: -g.posted)
        if not show_all:
            hidden = sum(1 for g in groups if not g.total)
            groups = [g for g in groups if g.total]
            hidden_needs = sum(1 for g in need_groups if not g.posted)
            need_groups = [g for g in need_groups if g.posted]
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
            "needs": needs,
            "need_groups": need_groups,
            "hidden_needs": hidden_needs,
            "need_figures": NEED_FIGURES,
            "need_bars": bar_rows(need_groups, series=NEED_SERIES, skip_empty=True),
            "need_series": NEED_SERIES,
            "group_options": GROUP_OPTIONS,
            "form": Form(values=dict(request.query_params) | {"group_by": group_by.value}),
            "filter_errors": args.errors,
        },
    )


@router.get("/stats/export")
def export_statistics(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """导出统计 Excel：「需求统计」与「对接统计」两张表，按页面所选的分组与期间。"""
    args = QueryArgs(request)
    group_by = args.choice("group_by", GroupBy) or GroupBy.county
    date_from, date_to = args.day("from"), args.day("to")
    if date_from and date_to and date_from > date_to:
        args.errors["from"] = "起始日期不能晚于截止日期"
    if args.errors:  # the page shows what is wrong with the choice
        return RedirectResponse(f"/stats?{request.url.query}", status_code=303)
    return Response(
        stats_export.to_xlsx(
            stats.need_stats(session, group_by=group_by, date_from=date_from, date_to=date_to),
            stats.placement_stats(session, group_by=group_by, date_from=date_from, date_to=date_to),
        ),
        media_type=stats_export.MEDIA_TYPE,
        headers=stats_export.disposition(date_from, date_to),
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


# --- the county map ------------------------------------------------------------------------------

# Simplified county outlines, made by seed/build_map.py (source and licence inside the file).
MAP_FILE = FilePath(stats.__file__).with_name("jilin_map.json")


@dataclass(frozen=True)
class Figure:
    label: str
    unit: str
    definition: str


FIGURES = {
    MapFigure.needs_open: Figure(
        "开放需求", "项", "各县状态为“征集中”的需求条数（已满员、已关闭的不计）。"
    ),
    MapFigure.placements_active: Figure(
        "服务中对接", "人次", "各县状态为“服务中”的对接记录条数，即此刻在岗服务的人次。"
    ),
    MapFigure.coverage: Figure(
        "需求覆盖率",
        "",
        "本县发布的全部需求（不论现在的状态）中，已有人员到岗服务——对接处于“服务中”或"
        "“已完成”——的需求所占比例。尚未发布需求的县记为“暂无需求”。",
    ),
}
FIGURE_OPTIONS = [(f.value, FIGURES[f].label) for f in MapFigure]
COUNTY_KINDS = {
    "district": "市辖区",
    "county": "县",
    "county_city": "县级市",
    "autonomous_county": "自治县",
}


@lru_cache(maxsize=1)
def county_shapes() -> dict[str, Any]:
    """{"view_box": [0, 0, w, h], "counties": {code: path data}, "borders": path data}."""
    data: dict[str, Any] = json.loads(MAP_FILE.read_text(encoding="utf-8"))
    return data


@dataclass(frozen=True)
class MapClass:
    css: str  # q0 (lightest) … q4 (darkest); qn: no value
    label: str
    counties: int = 0


@dataclass(frozen=True)
class MapCounty:
    code: str
    name: str
    prefecture: str
    value: float | None
    text: str
    css: str
    path: str


def _count_classes(top: int) -> list[tuple[int, int]]:
    """Zero, then 1…top cut into at most four ranges of whole numbers, as even as they come."""
    ranges = [(0, 0)]
    low = 1
    for k in range(1, 5):
        high = -(-top * k // 4)  # ceil(top * k / 4)
        if high >= low:
            ranges.append((low, high))
            low = high + 1
    return ranges


def _classify(figure: MapFigure, values: list[float | None]) -> tuple[list[MapClass], list[str]]:
    """Five classes and a class per value: counts in even ranges above a class of their own for
    zero (the darkest class always holds the largest); coverage in quarters, no needs apart."""
    if figure == MapFigure.coverage:
        bounds = [("q0", "0（无人到岗）"), ("q1", "不足 25%"), ("q2", "25%–50%"), ("q3", "50%–75%")]
        classes = [MapClass(css, label) for css, label in bounds]
        classes += [MapClass("q4", "75%–100%"), MapClass("qn", "暂无需求")]

        def css_of(v: float | None) -> str:
            if v is None:
                return "qn"
            return "q0" if v == 0 else f"q{min(4, 1 + int(v * 4))}"

    else:
        ranges = _count_classes(int(max((v or 0 for v in values), default=0)))
        # With fewer than five ranges the ones above zero take the darker colours.
        css = ["q0"] + [f"q{5 - len(ranges) + i}" for i in range(1, len(ranges))]
        classes = [
            MapClass(c, str(lo) if lo == hi else f"{lo}–{hi}")
            for c, (lo, hi) in zip(css, ranges, strict=True)
        ]

        def css_of(v: float | None) -> str:
            n = int(v or 0)
            return next(c for c, (lo, hi) in zip(css, ranges, strict=True) if lo <= n <= hi)

    assigned = [css_of(v) for v in values]
    counted = [MapClass(c.css, c.label, assigned.count(c.css)) for c in classes]
    return counted, assigned


def _value(figure: MapFigure, c: CountyFigures) -> tuple[float | None, str]:
    if figure == MapFigure.coverage:
        if c.coverage is None:
            return None, "暂无需求"
        return c.coverage, f"{c.coverage:.0%}（{c.needs_served}/{c.needs_total}）"
    n = c.needs_open if figure == MapFigure.needs_open else c.placements_active
    return n, f"{n} {FIGURES[figure].unit}"


@router.get("/stats/map")
def county_map(request: Request, session: SessionDep, viewer: AuditorViewer) -> Response:
    """县域地图：按开放需求、服务中对接或需求覆盖率为全省 60 个县（市、区）着色。"""
    args = QueryArgs(request)
    figure = args.choice("figure", MapFigure) or MapFigure.needs_open
    shapes = county_shapes()
    rows = stats.county_figures(session)
    values = [_value(figure, c) for c in rows]
    classes, css = _classify(figure, [v for v, _ in values])
    shown = [
        MapCounty(c.code, c.name, c.prefecture, v, text, k, shapes["counties"].get(c.code, ""))
        for c, (v, text), k in zip(rows, values, css, strict=True)
    ]
    # Highest first in the table; counties without a value last.
    ordered = sorted(shown, key=lambda c: (c.value is None, -(c.value or 0), c.code))
    return render(
        request,
        "stats/map.html",
        {
            "title": "县域地图",
            "figure": FIGURES[figure],
            "counties": shown,
            "ordered": ordered,
            "classes": classes,
            "view_box": " ".join(str(v) for v in shapes["view_box"]),
            "borders": shapes["borders"],
            "form": Form(values={"figure": figure.value}),
            "figure_options": FIGURE_OPTIONS,
            "filter_errors": args.errors,
        },
    )


CountyCode = Annotated[str, Path(pattern=r"^\d{6}$")]


@router.get("/stats/counties/{code}")
def county(
    request: Request, session: SessionDep, viewer: AuditorViewer, code: CountyCode
) -> Response:
    """一个县（市、区）的概况：开放需求、服务中对接、需求覆盖率。"""
    place = counties.get(session, code)
    figures = next(c for c in stats.county_figures(session) if c.code == code)
    return render(
        request,
        "stats/county.html",
        {
            "title": place.name,
            "county": place,
            "c": figures,
            "kind": COUNTY_KINDS.get(place.kind, place.kind),
            "region": REGION_LABELS[Region(place.region)],
            "figures": FIGURES,
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
