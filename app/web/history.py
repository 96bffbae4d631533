"""An audit event as a person reads it: who, when, what changed (in Chinese), and why."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from app.audit.schemas import AuditEventPublic
from app.errors import FIELD_LABELS
from app.web.templating import LABELS

# Fields of the placement and report snapshots that the generic labels do not cover.
EXTRA_LABELS = {
    "status": "状态",
    "off_list": "名单外推荐",
    "match_rank": "匹配排名",
    "match_score": "匹配得分",
    "model_version": "模型版本",
    "note": "备注",
    "reason": "推荐理由",
    "cancel_reason": "取消理由",
    "period": "服务期间",
    "service_days": "服务天数",
    "trainings": "培训人次",
    "problems_solved": "解决技术难题",
    "techniques_promoted": "推广新技术",
    "jobs_created": "带动就业",
    "text": "服务情况",
    "cause": "原因",
    "client": "来源地址",
    "contact_phone": "手机号",
    "contact_email": "邮箱",
    "title": "标题/职称",
    "limit": "触发的限制",
    "refused": "本时段累计拒绝次数",
    # other events' context, shown on the audit page
    "import": "导入文件",
    "row": "文件行号",
    "revoked": "作废的邀请",
    "invitation_id": "邀请编号",
    "password_changed": "已修改密码",
    "assignments": "规划配对数",
    "assignments_sha256": "配对清单摘要（SHA-256）",
    "filled_needs": "有人的需求数",
    "open_needs": "征集中的需求数",
    "poverty_counties_covered": "覆盖的脱贫县数",
    "greedy_poverty_counties_covered": "先到先得覆盖的脱贫县数",
}
VALUE_LABELS = {
    "status": LABELS["placement_status"] | LABELS["need_status"],
    "program": LABELS["program"],
    "kind": LABELS["kind"],
    "availability": LABELS["availability"],
    "role": LABELS["role"],
    "limit": {
        "account_address": "同一账号同一地址的失败次数",
        "account": "同一账号的失败次数",
        "address": "同一地址的失败次数",
    },
}
HIDDEN_CONTEXT = {"client"}
# The order a reader expects: what happened first, then where from, then the details.
FIELD_ORDER = [
    "status",
    "need_id",
    "profile_id",
    "county_code",
    "program",
    "match_rank",
    "match_score",
    "model_version",
    "off_list",
    "reason",
    "note",
    "cancel_reason",
    "period",
    "service_days",
    "trainings",
    "problems_solved",
    "techniques_promoted",
    "jobs_created",
    "text",
]
_RANK = {name: i for i, name in enumerate(FIELD_ORDER)}


def field_label(name: str) -> str:
    return EXTRA_LABELS.get(name) or FIELD_LABELS.get(name) or name


def show(name: str, value: Any, counties: Mapping[str, str] | None = None) -> str:
    if value is None or value == "":
        return "—"
    if name.endswith("county_code") and counties and value in counties:
        return counties[value]
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float):
        return f"{value:.4f}"
    if isinstance(value, list):
        return "、".join(str(v) for v in value) or "—"
    return VALUE_LABELS.get(name, {}).get(str(value), str(value))


@dataclass(frozen=True)
class Change:
    label: str
    before: str
    after: str


@dataclass(frozen=True)
class EventView:
    event: AuditEventPublic
    actor_role: str
    changes: list[Change]
    notes: list[tuple[str, str]]


def describe_event(event: AuditEventPublic, counties: Mapping[str, str] | None = None) -> EventView:
    """``counties``: code -> name, to show 通榆县 rather than 220822."""
    before, after = event.before or {}, event.after or {}
    keys = sorted(dict.fromkeys([*before, *after]), key=lambda k: _RANK.get(k, len(_RANK)))
    changes = [
        Change(field_label(k), show(k, before.get(k), counties), show(k, after.get(k), counties))
        for k in keys
        if before.get(k) != after.get(k)
    ]
    notes = [
        (field_label(k), show(k, v))
        for k, v in (event.context or {}).items()
        if k not in HIDDEN_CONTEXT and v is not None and k not in after
    ]
    return EventView(
        event=event,
        actor_role=LABELS["role"].get(event.actor_role, event.actor_role),
        changes=changes,
        notes=notes,
    )
