from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from app.common import DbId, LongText, Program, ShortText
from app.invitations.schemas import TalentState


class PlacementStatus(StrEnum):
    proposed = "proposed"
    accepted = "accepted"
    declined = "declined"
    active = "active"
    completed = "completed"
    cancelled = "cancelled"


STATUS_LABELS = {
    PlacementStatus.proposed: "已推荐",
    PlacementStatus.accepted: "已接受",
    PlacementStatus.declined: "已婉拒",
    PlacementStatus.active: "服务中",
    PlacementStatus.completed: "已完成",
    PlacementStatus.cancelled: "已取消",
}

# Why a person declines a proposal: the short list the decline form offers (free text beside).
DECLINE_REASONS = {
    "schedule": "时间冲突",
    "distance": "路途太远",
    "capacity": "精力不足",
    "mismatch": "专业不对口",
    "terms": "待遇或条件不合适",
    "other": "其他",
}
DeclineCode = Literal["schedule", "distance", "capacity", "mismatch", "terms", "other"]

Count = Annotated[int, Field(ge=0, le=100_000)]


class PlacementCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    need_id: DbId
    profile_id: DbId
    note: LongText | None = None
    reason: LongText | None = Field(
        default=None, description="人选不在该需求当前匹配名单中时必须说明理由"
    )
    interest_id: DbId | None = Field(
        default=None, description="推荐来自该人选对此需求的意向（我有意向）时填写"
    )
    plan_id: DbId | None = Field(
        default=None, description="推荐来自省级统筹规划的建议时填写（规划须已完成且建议了该人选）"
    )
    repeat: bool = Field(
        default=False,
        description="该人选此前被推荐过此需求（已婉拒、已取消或已完成）时，确认仍要再次推荐",
    )


class TransitionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = None


class DeclineIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason_code: DeclineCode = Field(description="婉拒理由：" + "、".join(DECLINE_REASONS.values()))
    reason: LongText | None = Field(
        default=None, validate_default=True, description="补充说明；选择「其他」时必填"
    )
    note: LongText | None = None

    @field_validator("reason")
    @classmethod
    def _other_needs_words(cls, value: str | None, info: ValidationInfo) -> str | None:
        if info.data.get("reason_code") == "other" and not value:
            raise ValueError("选择「其他」时请填写婉拒理由")
        return value


class CancelIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: LongText


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    period: Annotated[ShortText, Field(max_length=50, description="如 2027年3月、2027年第一季度")]
    service_days: Annotated[int, Field(ge=0, le=366)] = 0
    trainings: Count = 0
    problems_solved: Count = 0
    techniques_promoted: Count = 0
    jobs_created: Count = 0
    text: LongText


class ReportPublic(BaseModel):
    id: int
    placement_id: int
    author_id: int | None
    period: str
    service_days: int
    trainings: int
    problems_solved: int
    techniques_promoted: int
    jobs_created: int
    text: str
    created_at: datetime


class PlacementPublic(BaseModel):
    id: int
    need_id: int
    need_title: str
    profile_id: int
    profile_name: str
    county_code: str
    county_name: str
    program: Program
    status: PlacementStatus
    status_label: str
    off_list: bool
    match_rank: int | None
    match_score: float | None
    match_components: dict[str, float] | None
    model_version: str | None
    note: str | None
    reason: str | None
    cancel_reason: str | None
    decline_code: str | None = None
    decline_label: str | None = None
    decline_note: str | None = None
    interest_id: int | None = None
    # the province-wide plan the proposal came from, if any
    plan_id: int | None = None
    created_at: datetime
    updated_at: datetime
    accepted_at: datetime | None
    declined_at: datetime | None
    started_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    report_count: int
    # Whether the person can answer online: registered, invited (no account yet, an open
    # invitation) or offline (the county reaches them itself).
    talent_state: TalentState


class PlacementFilters(BaseModel):
    county_code: str | None = None
    prefecture: str | None = None
    region: str | None = None
    program: str | None = None
    status: str | None = None
    profile_id: int | None = None
    need_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None
