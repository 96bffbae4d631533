"""Bulk import of county needs (CSV, JSONL, XLSX) by the administrator."""

from typing import Any

from sqlmodel import Session

from app.common import NEED_STATUS_LABELS, PROGRAM_LABELS, NeedStatus, Program
from app.counties import service as counties
from app.imports.schemas import ImportReport
from app.imports.service import (
    Batch,
    ImportKind,
    RowError,
    TemplateColumn,
    check_rows,
    finish_import,
    validate_row,
)
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


def to_create(values: dict[str, Any]) -> NeedCreate:
    """The need a row describes, or RowProblems with everything wrong with it."""
    found: list[RowError] = []
    record = {k: v for k, v in values.items() if v is not None}
    for key, table in (("program", _PROGRAM), ("status", _STATUS)):
        if isinstance(record.get(key), str):
            record[key] = table.get(record[key].strip(), record[key].strip())
    county = record.pop("county_code", None)
    if county is None:
        found.append(RowError("county_code", "missing", "县（市、区）为必填项"))
    else:
        try:
            record["county_code"] = counties.code_for_written(county)
        except counties.CountyNameError as exc:
            found.append(RowError("county_code", exc.code, exc.message))
    return validate_row(NeedCreate, record, found)


def import_rows(session: Session, batch: Batch) -> ImportReport:
    checked = check_rows(batch.rows, to_create)
    if checked.good and (batch.partial or not checked.rejected):
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
    return finish_import(
        session,
        batch,
        checked.good,
        checked.rejected,
        entity="need",
        build=lambda d: service.build(
            d, county_code=d.county_code or "", created_by_id=batch.actor.id
        ),
        snapshot=service.snapshot,
        store_embeddings=service.store_embeddings,
    )


TEMPLATE = (
    TemplateColumn(
        "县（市、区）",
        "洮南市",
        "吉林省县（市、区）名称，可省略“县、市、区”（如“洮南”），或写 6 位代码",
    ),
    TemplateColumn(
        "项目类别",
        PROGRAM_LABELS[Program.science_commissioner],
        "可选：",
        choices=list(PROGRAM_LABELS.values()),
    ),
    TemplateColumn("需求标题", "盐碱地水稻保苗技术指导", "一句话说明需要什么"),
    TemplateColumn(
        "需求描述",
        "苏打盐碱地插秧后返碱死苗严重，需要盐碱地改良与水稻栽培方面的技术指导",
        "具体情况与要求，用于匹配人才",
    ),
    TemplateColumn("产业", "盐碱地治理", "所属产业"),
    TemplateColumn("需求人数", 2, "1–20，默认 1"),
    TemplateColumn("截止日期", "", "选填，格式 2027-04-30"),
    TemplateColumn(
        "状态",
        NEED_STATUS_LABELS[NeedStatus.open],
        "选填，默认征集中；可选：",
        choices=list(NEED_STATUS_LABELS.values()),
    ),
)

KIND = ImportKind(
    name="needs",
    label="县域需求",
    aliases=ALIASES,
    required=REQUIRED,
    import_rows=import_rows,
    template=TEMPLATE,
)
