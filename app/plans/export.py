"""A plan as an Excel workbook: its figures beside the baseline's, the assignments, the unfilled
needs and the shortage table."""

import io
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.common import PROGRAM_LABELS, REGION_LABELS, Program, Region
from app.plans.schemas import PlanPublic

FIGURES = [
    ("open_needs", "规划范围内有空缺的需求"),
    ("filled_needs", "空缺全部安排的需求"),
    ("covered_needs", "至少安排一人的需求"),
    ("unfilled_needs", "仍有空缺的需求"),
    ("seats_filled", "安排人次"),
    ("total_score", "匹配分合计"),
    ("poverty_counties_open", "有空缺需求的脱贫县"),
    ("poverty_counties_covered", "得到安排的脱贫县"),
    ("poverty_needs_covered", "得到安排的脱贫县需求"),
    ("counties_covered", "得到安排的县（市、区）"),
    ("hometown_placements", "回籍贯县服务人次"),
]


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _sheet(wb: Workbook, title: str, headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    ws = wb.create_sheet(title)
    ws.freeze_panes = "A2"
    for index, name in enumerate(headers, start=1):
        ws.column_dimensions[get_column_letter(index)].width = max(10, len(name) * 2 + 4)
    ws.auto_filter.ref = f"A1:{get_column_letter(len(headers))}{len(rows) + 1}"
    bold = Font(bold=True)
    header = []
    for name in headers:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in rows:
        ws.append([_safe(v) for v in row])


def scope_text(plan: PlanPublic) -> str:
    p = plan.parameters
    parts = [
        PROGRAM_LABELS[Program(p.program)] if p.program else "全部项目",
        REGION_LABELS[Region(p.region)] if p.region else "",
        p.prefecture or "",
    ]
    return "、".join(x for x in parts if x) or "全省"


def to_xlsx(plan: PlanPublic) -> bytes:
    wb = Workbook(write_only=True)
    summary = plan.summary
    overview: list[list[Any]] = [
        ["规划编号", plan.id, ""],
        ["范围", scope_text(plan), ""],
        ["脱贫县优先", "是" if plan.parameters.poverty_floor else "否", ""],
        [
            "最低匹配分",
            plan.parameters.min_score if plan.parameters.min_score is not None else "不限",
            "",
        ],
        ["同单位每县人数上限", plan.parameters.max_per_employer or "不限", ""],
        ["模型版本", plan.model_version or "", ""],
    ]
    if summary is not None:
        overview += [
            [label, getattr(summary, key), getattr(summary.greedy, key)] for key, label in FIGURES
        ]
    _sheet(wb, "概况", ["项目", "统筹规划", "先到先得"], overview)
    _sheet(
        wb,
        "规划安排",
        ["县（市、区）", "需求编号", "需求", "人才编号", "人才", "匹配名次", "匹配得分"],
        [
            [
                a.county_name or "",
                a.need_id,
                a.need_title or "",
                a.profile_id,
                a.profile_name or "",
                a.rank,
                a.score,
            ]
            for a in sorted(
                plan.assignments, key=lambda a: (a.county_code or "", a.need_id, a.rank)
            )
        ],
    )
    _sheet(
        wb,
        "未满足需求",
        [
            "县（市、区）",
            "需求编号",
            "需求",
            "空缺人数",
            "原因",
            "占用名额的候选人（人才编号→需求编号）",
        ],
        [
            [
                u.county_name or "",
                u.need_id,
                u.need_title or "",
                u.missing,
                u.reason_label,
                "；".join(f"{t.profile_id}→{','.join(map(str, t.need_ids))}" for t in u.taken),
            ]
            for u in plan.unfilled
        ],
    )
    _sheet(
        wb,
        "人才缺口",
        ["专业领域", "市（州）", "缺人需求数", "空缺人数"],
        [[s.term, s.prefecture, s.needs, s.seats] for s in plan.shortage],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def disposition(plan_id: int) -> dict[str, str]:
    name = quote(f"统筹规划-{plan_id}.xlsx")
    return {
        "Content-Disposition": f"attachment; filename=plan-{plan_id}.xlsx; filename*=UTF-8''{name}"
    }
