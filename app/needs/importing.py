"""Bulk import of county needs (CSV, JSONL, XLSX) by the administrator."""

from typing import Any

from sqlmodel import Session

from app.auth.actor import Actor
from app.common import NEED_STATUS_LABELS, PROGRAM_LABELS
from app.counties import service as counties
from app.imports.parsing import RawRow
from app.imports.schemas import AcceptedRow, ImportReport
from app.imports.service import RowError, check_rows, report, save_rows
from app.matches import embeddings
from app.needs import service
from app.needs.docs import need_doc
from app.needs.schemas import NeedCreate

ALIASES: dict[str, str] = {}
for key, names in {
    "county_code": [
        "county_code",
        "county",
        "县",
        "县代码",
        "县（市、区）",
        "县(市、区)",
        "所在县",
        "县（市、区）代码",
    ],
    "program": ["program", "项目", "项目类别", "计划"],
    "title": ["title", "标题", "需求名称", "需求标题"],
    "description": ["description", "描述", "需求描述", "需求内容"],
    "industry": ["industry", "产业", "所属产业", "行业"],
    "headcount": ["headcount", "人数", "需求人数"],
    "status": ["status", "状态"],
    "deadline": ["deadline", "截止日期", "截止时间"],
}.items():
    for name in names:
        ALIASES[name.lower()] = key

REQUIRED = {"county_code", "program", "title", "description", "industry"}
_PROGRAM = {label: p.value for p, label in PROGRAM_LABELS.items()} | {
    "科技特派员制度": "science_commissioner",
    "三乡": "return_home",
    "能人回乡": "return_home",
    "工商兴乡": "return_home",
    "社会助乡": "return_home",
}
_STATUS = {label: s.value for s, label in NEED_STATUS_LABELS.items()} | {"开放": "open"}


def to_create(values: dict[str, Any], known: frozenset[str]) -> NeedCreate:
    record = {k: v for k, v in values.items() if v is not None}
    for key, table in (("program", _PROGRAM), ("status", _STATUS)):
        if isinstance(record.get(key), str):
            record[key] = table.get(record[key].strip(), record[key].strip())
    county = record.get("county_code")
    if isinstance(county, int):
        county = record["county_code"] = str(county)
    if county is None:
        raise RowError("county_code", "missing", "县（市、区）代码为必填项")
    if isinstance(county, str) and not county.isdigit():
        code = counties.code_for_name(county)
        if code is None:
            raise RowError("county_code", "unknown_county", f"未知的县（市、区）：{county}")
        record["county_code"] = code
    data = NeedCreate.model_validate(record)
    if data.county_code not in known:
        raise RowError(
            "county_code", "unknown_county", f"未知的县（市、区）代码：{data.county_code}"
        )
    return data


def import_rows(
    session: Session,
    *,
    fmt: str,
    rows: list[RawRow],
    partial: bool,
    actor: Actor,
    source: str | None,
) -> ImportReport:
    known = counties.reference_codes()
    checked = check_rows(rows, lambda values: to_create(values, known))
    if checked.good and (partial or not checked.rejected):
        drafts = [
            service.build(d, county_code=d.county_code or "", created_by_id=None)
            for _, d in checked.good
        ]
        embeddings.remember_prepared(
            session,
            embeddings.prepare(
                embeddings.NEEDS, [need_doc(n) for n in drafts], embeddings.current_encoder()
            ),
        )
    if checked.rejected and not partial:
        accepted = [AcceptedRow(row=row) for row, _ in checked.good]
        return report(
            fmt=fmt,
            total=len(rows),
            accepted=accepted,
            rejected=checked.rejected,
            imported=False,
            partial=partial,
        )
    accepted = save_rows(
        session,
        actor=actor,
        entity="need",
        rows=[row for row, _ in checked.good],
        records=[
            service.build(d, county_code=d.county_code or "", created_by_id=actor.id)
            for _, d in checked.good
        ],
        snapshot=service.snapshot,
        store_embeddings=service.store_embeddings,
        source=source or fmt,
    )
    return report(
        fmt=fmt,
        total=len(rows),
        accepted=accepted,
        rejected=checked.rejected,
        imported=True,
        partial=partial,
    )
