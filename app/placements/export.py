"""Placements as a table for the province: CSV (UTF-8 with BOM, opens in Excel) or XLSX."""

import csv
import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter
from sqlalchemy import func
from sqlalchemy import select as sa_select
from sqlmodel import Session, col

from app.auth.actor import Actor
from app.common import KIND_LABELS, PROGRAM_LABELS, REGION_LABELS, ProfileKind, Program, Region
from app.counties.models import County
from app.db import BEIJING, utcnow
from app.needs.models import Need
from app.placements.models import Placement, ServiceReport
from app.placements.queries import filter_conditions
from app.placements.schemas import STATUS_LABELS, PlacementFilters, PlacementStatus
from app.profiles.models import Profile

HEADERS = [
    "对接编号",
    "县（市、区）",
    "市（州）",
    "区域",
    "项目类别",
    "需求编号",
    "需求",
    "人才编号",
    "人才",
    "人才类型",
    "状态",
    "名单外推荐",
    "推荐理由",
    "匹配排名",
    "匹配得分",
    "模型版本",
    "推荐时间",
    "接受时间",
    "开始服务时间",
    "完成时间",
    "取消时间",
    "取消理由",
    "服务记录数",
    "服务天数",
    "培训人次",
    "解决技术难题",
    "推广新技术",
    "带动就业",
]
_LOCAL = "%Y-%m-%d %H:%M"
# Column widths in the XLSX (characters; a Chinese character counts about two).
WIDTHS = {
    "需求": 36,
    "人才": 14,
    "推荐理由": 40,
    "取消理由": 30,
    "模型版本": 24,
    "县（市、区）": 14,
    "市（州）": 12,
    "项目类别": 12,
    "人才类型": 12,
}
DATE_WIDTH = 17


def _when(value: datetime | None) -> datetime | None:
    """Beijing time (what the auditors read), without a zone: Excel keeps no zones, and a real
    date cell sorts and filters as a date. The CSV writes it as text."""
    if value is None:
        return None
    return value.astimezone(BEIJING).replace(tzinfo=None, second=0, microsecond=0)


def rows(session: Session, *, actor: Actor, filters: PlacementFilters) -> list[list[Any]]:
    conditions = filter_conditions(session, actor, filters)
    sums = (
        sa_select(
            col(ServiceReport.placement_id),
            func.count().label("n"),
            func.sum(col(ServiceReport.service_days)).label("days"),
            func.sum(col(ServiceReport.trainings)).label("trainings"),
            func.sum(col(ServiceReport.problems_solved)).label("problems"),
            func.sum(col(ServiceReport.techniques_promoted)).label("techniques"),
            func.sum(col(ServiceReport.jobs_created)).label("jobs"),
        )
        .group_by(col(ServiceReport.placement_id))
        .subquery()
    )
    query = (
        sa_select(
            Placement,
            col(Need.title),
            col(Profile.name),
            col(Profile.kind),
            col(County.name),
            col(County.prefecture),
            col(County.region),
            sums.c.n,
            sums.c.days,
            sums.c.trainings,
            sums.c.problems,
            sums.c.techniques,
            sums.c.jobs,
        )
        .join(Need, col(Need.id) == Placement.need_id)
        .join(Profile, col(Profile.id) == Placement.profile_id)
        .join(County, col(County.code) == Placement.county_code)
        .outerjoin(sums, sums.c.placement_id == Placement.id)
        .where(*conditions)
        .order_by(col(Placement.id))
    )
    out: list[list[Any]] = []
    for (
        p,
        need_title,
        name,
        kind,
        county,
        prefecture,
        region,
        n,
        days,
        trainings,
        problems,
        techniques,
        jobs,
    ) in session.execute(query).all():
        out.append(
            [
                p.id,
                county,
                prefecture,
                REGION_LABELS[Region(region)],
                PROGRAM_LABELS[Program(p.program)],
                p.need_id,
                need_title,
                p.profile_id,
                name,
                KIND_LABELS[ProfileKind(kind)],
                STATUS_LABELS[PlacementStatus(p.status)],
                "是" if p.off_list else "否",
                p.reason or "",
                p.match_rank if p.match_rank is not None else "",
                round(p.match_score, 4) if p.match_score is not None else "",
                p.model_version or "",
                _when(p.created_at),
                _when(p.accepted_at),
                _when(p.started_at),
                _when(p.completed_at),
                _when(p.cancelled_at),
                p.cancel_reason or "",
                n or 0,
                days or 0,
                trainings or 0,
                problems or 0,
                techniques or 0,
                jobs or 0,
            ]
        )
    return out


def _safe(value: Any) -> Any:
    """Neutralise spreadsheet formulas in free text (CSV injection)."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def _text(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.strftime(_LOCAL)
    return "" if value is None else value


def to_csv(table: Sequence[Sequence[Any]]) -> bytes:
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(HEADERS)
    writer.writerows([_safe(_text(v)) for v in row] for row in table)
    return buf.getvalue().encode("utf-8-sig")


def to_xlsx(table: Sequence[Sequence[Any]]) -> bytes:
    """A sheet an auditor can work with at once: bold header row frozen with a filter, readable
    column widths, times as date cells."""
    wb = Workbook(write_only=True)
    ws = wb.create_sheet("对接记录")
    ws.freeze_panes = "A2"
    for index, name in enumerate(HEADERS, start=1):
        width = WIDTHS.get(name, DATE_WIDTH if name.endswith("时间") else max(8, len(name) * 2 + 2))
        ws.column_dimensions[get_column_letter(index)].width = width
    ws.auto_filter.ref = f"A1:{get_column_letter(len(HEADERS))}{len(table) + 1}"
    bold = Font(bold=True)
    header = []
    for name in HEADERS:
        cell = WriteOnlyCell(ws, value=name)
        cell.font = bold
        header.append(cell)
    ws.append(header)
    for row in table:
        cells: list[Any] = []
        for value in row:
            if isinstance(value, datetime):
                cell = WriteOnlyCell(ws, value=value)
                cell.number_format = "yyyy-mm-dd hh:mm"
                cells.append(cell)
            else:
                cells.append(_safe(value))
        ws.append(cells)
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def disposition(ext: str) -> dict[str, str]:
    name = quote(f"对接记录-{utcnow():%Y%m%d}.{ext}")
    return {
        "Content-Disposition": f"attachment; filename=placements.{ext}; filename*=UTF-8''{name}"
    }
