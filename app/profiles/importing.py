"""Bulk import of profiles from the province's lists (CSV, JSONL, XLSX).

Columns may be written with the API's English names or the Chinese headings used in the
province's spreadsheets, and enumerations with their Chinese labels (全职、科研人员、东部 …).
"""

import re
from typing import Any

from pydantic import TypeAdapter, ValidationError
from sqlalchemy import tuple_
from sqlmodel import Session, col, select

from app.common import (
    AVAILABILITY_LABELS,
    KIND_LABELS,
    REGION_LABELS,
    Availability,
    NameText,
    Phone,
    ProfileKind,
)
from app.counties import service as counties
from app.imports.schemas import ImportReport, RejectedRow
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
from app.profiles import service
from app.profiles.docs import profile_doc
from app.profiles.models import Profile
from app.profiles.schemas import ProfileCreate

ALIASES: dict[str, str] = {}
for key, names in {
    "kind": ["kind", "类型", "人才类型", "类别"],
    "name": ["name", "姓名", "名称", "姓名/名称"],
    "affiliation": ["affiliation", "单位", "工作单位", "所在单位"],
    "title": ["title", "职称", "职务", "职称/职务"],
    "fields": ["fields", "领域", "领域标签", "专业领域", "标签"],
    "expertise": ["expertise", "专长", "专业特长", "技术专长", "专长描述"],
    "achievements": ["achievements", "业绩", "业绩成果", "主要成果", "成果"],
    "hometown_county_code": ["hometown_county_code", "hometown", "籍贯", "籍贯县", "籍贯县代码"],
    "availability": ["availability", "服务方式", "工作方式"],
    "capacity": ["capacity", "服务容量", "容量", "可服务数"],
    "preferred_regions": ["preferred_regions", "意向地区", "意向区域", "服务意向地区"],
    "phone": ["phone", "contact.phone", "contact_phone", "电话", "手机", "手机号", "联系电话"],
    "email": ["email", "contact.email", "contact_email", "邮箱", "电子邮箱"],
    "contact": ["contact", "联系方式"],
    "active": ["active", "是否有效", "状态", "有效"],
}.items():
    for name in names:
        ALIASES[name.lower()] = key

REQUIRED = {"kind", "name", "affiliation", "title", "expertise", "availability"}

_KIND = {label: kind.value for kind, label in KIND_LABELS.items()} | {
    "研究人员": "researcher",
    "返乡": "returnee",
    "回乡人员": "returnee",
    "企业": "organization",
    "团队": "team",
    "法人": "organization",
    "法人单位": "organization",
}
_AVAILABILITY = {label: a.value for a, label in AVAILABILITY_LABELS.items()} | {
    "全职服务": "full_time",
    "兼职服务": "part_time",
    "线上": "remote",
    "远程服务": "remote",
}
_REGION = {label: r.value for r, label in REGION_LABELS.items()} | {
    "东部地区": "east",
    "中部地区": "central",
    "西部地区": "west",
}
_TRUE = {"true", "1", "是", "有效", "启用", "yes", "y"}
_FALSE = {"false", "0", "否", "无效", "停用", "no", "n"}
_SPLIT = re.compile(r"[,，、;；|\n]+")


def _split(value: Any) -> Any:
    if isinstance(value, str):
        return [part.strip() for part in _SPLIT.split(value) if part.strip()]
    return value


def _label(value: Any, table: dict[str, str]) -> Any:
    return table.get(value.strip(), value.strip()) if isinstance(value, str) else value


def to_create(values: dict[str, Any]) -> ProfileCreate:
    """The profile a row describes, or RowProblems with everything wrong with it."""
    found: list[RowError] = []
    record = {k: v for k, v in values.items() if v is not None}
    if "kind" in record:
        record["kind"] = _label(record["kind"], _KIND)
    if "availability" in record:
        record["availability"] = _label(record["availability"], _AVAILABILITY)
    if "fields" in record:
        record["fields"] = _split(record["fields"])
    if "preferred_regions" in record:
        regions = _split(record["preferred_regions"])
        record["preferred_regions"] = (
            [_label(r, _REGION) for r in regions] if isinstance(regions, list) else regions
        )
    if "active" in record and isinstance(record["active"], str):
        lowered = record["active"].strip().lower()
        if lowered in _TRUE:
            record["active"] = True
        elif lowered in _FALSE:
            record["active"] = False
    if "hometown_county_code" in record:
        hometown = record.pop("hometown_county_code")
        try:
            record["hometown_county_code"] = counties.code_for_written(hometown)
        except counties.CountyNameError as exc:
            found.append(RowError("hometown_county_code", exc.code, exc.message))
    if "owner_id" in record:
        record.pop("owner_id")
        found.append(RowError("owner_id", "extra_forbidden", "批量导入不能指定所属账号"))
    contact = record.pop("contact", None)
    flat = {k: str(record.pop(k)) for k in ("phone", "email") if k in record}
    if flat:
        contact = {**contact, **flat} if isinstance(contact, dict) else (contact or flat)
    if contact is not None:
        record["contact"] = contact
    return validate_row(ProfileCreate, record, found)


_NAME: TypeAdapter[str] = TypeAdapter(NameText)
_PHONE: TypeAdapter[str] = TypeAdapter(Phone)


def identity(values: dict[str, Any]) -> tuple[str, str] | None:
    """Name and phone as the schema would store them, read from a row whatever else is wrong
    with it (a duplicate is reported with the row's other problems); None without both."""
    name = values.get("name")
    phone = values.get("phone")
    contact = values.get("contact")
    if phone is None and isinstance(contact, dict):
        phone = contact.get("phone")
    if name is None or phone is None:
        return None
    try:
        return _NAME.validate_python(str(name)), _PHONE.validate_python(str(phone))
    except ValidationError:
        return None


def _registered(session: Session, keys: list[tuple[str, str]]) -> set[tuple[str, str]]:
    existing: set[tuple[str, str]] = set()
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        existing.update(
            (n, p)
            for n, p in session.exec(
                select(Profile.name, Profile.contact_phone).where(
                    tuple_(col(Profile.name), col(Profile.contact_phone)).in_(chunk)
                )
            ).all()
            if p is not None
        )
    return existing


def import_rows(session: Session, batch: Batch) -> ImportReport:
    checked = check_rows(batch.rows, to_create)
    # The same person twice (same name and phone), in the file or already registered; looked
    # for in every row, so that a duplicate is reported with the row's other problems.
    keys = {
        raw.row: key for raw in batch.rows if raw.error is None and (key := identity(raw.values))
    }
    first: dict[tuple[str, str], int] = {}
    for row, key in keys.items():
        first.setdefault(key, row)
    repeated = {row for row, key in keys.items() if first[key] != row}
    unique = [(row, d) for row, d in checked.good if row not in repeated]
    if unique and (batch.partial or not checked.rejected and not repeated):
        # Encode before the first database access, so that a long import does not hold a
        # write transaction (on SQLite, the database) while the model runs.
        drafts = [service.build(d, owner_id=None, created_by_id=None) for _, d in unique]
        prepared = embeddings.prepare(
            embeddings.PROFILES, [profile_doc(p) for p in drafts], embeddings.current_encoder()
        )
        embeddings.remember_prepared(session, prepared)
    existing = _registered(session, list(first))
    duplicates: set[int] = set()
    for row, key in keys.items():
        if key in existing:
            checked.rejected.append(_duplicate(row, "系统中已有同名同手机号的档案"))
        elif row in repeated:
            checked.rejected.append(_duplicate(row, f"与第 {first[key]} 行重复（同名同手机号）"))
        else:
            continue
        duplicates.add(row)
    good = [(row, d) for row, d in checked.good if row not in duplicates]

    return finish_import(
        session,
        batch,
        good,
        checked.rejected,
        entity="profile",
        build=lambda d: service.build(d, owner_id=None, created_by_id=batch.actor.id),
        snapshot=service.snapshot,
        store_embeddings=service.store_embeddings,
    )


def _duplicate(row: int, message: str) -> RejectedRow:
    return RejectedRow(row=row, field="name", column=None, code="duplicate", message=message)


_COUNTY_NOTE = "吉林省县（市、区）名称，可省略“县、市、区”（如“洮南”），或写 6 位代码"
_LIST_NOTE = "多个用顿号、逗号或分号分隔"
TEMPLATE = (
    TemplateColumn("姓名", "李春明", "个人姓名，或团队、单位的名称"),
    TemplateColumn(
        "类型", KIND_LABELS[ProfileKind.expert], "可选：", choices=list(KIND_LABELS.values())
    ),
    TemplateColumn("单位", "吉林农业大学", "工作单位"),
    TemplateColumn("职称", "教授", "职称或职务"),
    TemplateColumn("领域", "人参、林下参", f"领域标签，最多 10 个，{_LIST_NOTE}"),
    TemplateColumn("专长", "人参连作障碍与土壤修复", "专业特长，用于匹配，请写具体"),
    TemplateColumn("业绩", "主持省级人参产业项目 2 项", "主要成果（选填）"),
    TemplateColumn("籍贯", "抚松", f"籍贯县（选填）：{_COUNTY_NOTE}"),
    TemplateColumn(
        "服务方式",
        AVAILABILITY_LABELS[Availability.part_time],
        "可选：",
        choices=list(AVAILABILITY_LABELS.values()),
    ),
    TemplateColumn("服务容量", 2, "可同时服务的县域需求数，1–10，默认 1"),
    TemplateColumn(
        "意向地区",
        "东部、中部",
        f"选填，最多 3 个，{_LIST_NOTE}；可选：",
        choices=list(REGION_LABELS.values()),
    ),
    TemplateColumn("手机号", "13900000000", "11 位手机号；与姓名相同的档案视为重复", text=True),
    TemplateColumn("邮箱", "li.chunming@example.cn", "选填"),
)

KIND = ImportKind(
    name="profiles",
    label="人才档案",
    aliases=ALIASES,
    required=REQUIRED,
    import_rows=import_rows,
    template=TEMPLATE,
)
