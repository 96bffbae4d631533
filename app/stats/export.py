"""The statistics as a workbook for the province: needs and placements by the same grouping."""

import io
from collections.abc import Sequence
from datetime import date
from typing import Any
from urllib.parse import quote

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.styles import Font
from openpyxl.utils import get_column_letter

from app.db import utcnow
from app.stats.schemas import GROUP_LABELS, NEED_FIGURES, GroupStats, NeedStats, PlacementStats

MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Placement statuses, then the service outcomes, with the headings of the statistics page.
PLACEMENT_FIGURES = {
    "total": "对接合计",
    "proposed": "已推荐",
    "accepted": "已接受",
    "active": "服务中",
    "completed": "已完成",
    "declined": "婉拒",
    "cancelled": "取消",
    "off_list": "名单外推荐",
}
OUTCOME_FIGURES = {
    "reports": "服务记录",
    "service_days": "服务天数",
    "trainings": "培训人次",
    "problems_solved": "解决技术难题",
    "techniques_promoted": "推广新技术",
    "jobs_created": "带动就业",
}
# The group column is wide enough for the longest county name (a Chinese character is about
# two widths); a figure column as wide as its heading.
GROUP_WIDTH = 16


def _placement_row(g: GroupStats) -> list[Any]:
    return [g.label, *(getattr(g, f) for f in PLACEMENT_FIGURES)] + [
        getattr(g.outcomes, f) for f in OUTCOME_FIGURES
    ]


def _sheet(wb: Workbook, title: str, header: list[str], rows: Sequence[list[Any]]) -> None:
    """One table: bold header frozen with a filter over the groups, the totals row bold last."""
    ws = wb.create_sheet(title)
    ws.freeze_panes = "B2"  # the header and the group names stay in view
    for index, name in enumerate(header, start=1):
        width = GROUP_WIDTH if index == 1 else max(8, len(name) * 2 + 2)
        ws.column_dimensions[get_column_letter(index)].width = width
    # The filter leaves out the totals row, so that sorting the groups keeps it last.
    ws.auto_filter.ref = f"A1:{get_column_letter(len(header))}{len(rows)}"
    bold = Font(bold=True)

    def styled(values: list[Any]) -> list[WriteOnlyCell]:
        cells = []
        for value in values:
            cell = WriteOnlyCell(ws, value=value)
            cell.font = bold
            cells.append(cell)
        return cells

    ws.append(styled(header))
    for row in rows[:-1]:
        ws.append(row)
    ws.append(styled(rows[-1]))


def to_xlsx(needs: NeedStats, placements: PlacementStats) -> bytes:
    """Sheets 需求统计 and 对接统计, one row per group (zeros included) and the totals."""
    group = GROUP_LABELS[needs.group_by]
    wb = Workbook(write_only=True)
    period = period_text(needs.date_from, needs.date_to)
    wb.properties.title = f"需求与对接统计（按{group}，{period}）"
    _sheet(
        wb,
        "需求统计",
        [group, *NEED_FIGURES.values()],
        [[g.label, *(getattr(g, f) for f in NEED_FIGURES)] for g in [*needs.groups, needs.totals]],
    )
    _sheet(
        wb,
        "对接统计",
        [group, *PLACEMENT_FIGURES.values(), *OUTCOME_FIGURES.values()],
        [_placement_row(g) for g in [*placements.groups, placements.totals]],
    )
    buf = io.BytesIO()
    wb.save(buf)
    return buf.getvalue()


def period_text(date_from: date | None, date_to: date | None) -> str:
    if not date_from and not date_to:
        return "全部日期"
    return f"{date_from or '最早'}至{date_to or '今'}"


def disposition(date_from: date | None, date_to: date | None) -> dict[str, str]:
    period = f"{date_from or ''}至{date_to or ''}" if date_from or date_to else f"{utcnow():%Y%m%d}"
    name = quote(f"需求与对接统计-{period}.xlsx")
    return {"Content-Disposition": f"attachment; filename=stats.xlsx; filename*=UTF-8''{name}"}
