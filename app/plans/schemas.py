from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field

from app.common import Program, Region, ShortText


class PlanStatus(StrEnum):
    running = "running"
    done = "done"
    failed = "failed"


STATUS_LABELS = {
    PlanStatus.running: "计算中",
    PlanStatus.done: "已完成",
    PlanStatus.failed: "失败",
}


class PlanCreate(BaseModel):
    """What a plan covers and the rules it keeps."""

    model_config = ConfigDict(extra="forbid")

    program: Program | None = Field(default=None, description="只规划该项目类别的需求")
    region: Region | None = Field(default=None, description="只规划该区域的需求")
    prefecture: ShortText | None = Field(default=None, description="只规划该市（州）的需求")
    poverty_floor: bool = Field(
        default=True,
        description="脱贫县优先：先使尽可能多的脱贫县需求至少有一人，再使总匹配分最高",
    )
    min_score: Annotated[float, Field(ge=0, le=3)] | None = Field(
        default=None, description="低于此匹配分的人选不安排"
    )
    max_per_employer: Annotated[int, Field(ge=1, le=20)] | None = Field(
        default=None, description="同一单位在同一县服务的人数上限"
    )


class PlanStarted(BaseModel):
    id: int
    status: PlanStatus


class PlanFigures(BaseModel):
    """The figures of one way of filling the needs (the plan, or first come first served)."""

    open_needs: int = Field(description="规划范围内尚有空缺的需求数")
    filled_needs: int = Field(description="所有空缺都安排了人选的需求数")
    covered_needs: int = Field(description="至少安排了一人的需求数")
    unfilled_needs: int = Field(description="仍有空缺的需求数")
    seats_open: int
    seats_filled: int
    total_score: float
    poverty_needs_open: int
    poverty_needs_covered: int
    poverty_counties_open: int
    poverty_counties_covered: int
    counties_covered: int
    hometown_placements: int


class PlanSummary(PlanFigures):
    greedy: PlanFigures = Field(description="先到先得基线：需求按发布顺序各取最好的空闲人选")
    method: str
    optimal: bool
    gap: float | None
    unfilled_by_reason: dict[str, int]
    candidates: int = Field(description="候选（需求，人选）对数")
    people: int = Field(description="出现在候选中的人数")
    top_k: int
    candidate_seconds: float
    solve_seconds: float


class AssignmentPublic(BaseModel):
    need_id: int
    profile_id: int
    score: float
    rank: int = Field(description="人选在该需求匹配名单中的名次")
    need_title: str | None = None
    county_code: str | None = None
    county_name: str | None = None
    profile_name: str | None = None


class TakenPublic(BaseModel):
    profile_id: int
    need_ids: list[int]


class UnfilledPublic(BaseModel):
    need_id: int
    reason: str
    reason_label: str
    missing: int
    taken: list[TakenPublic] = Field(default_factory=list, description="名额已被占用的候选人")
    need_title: str | None = None
    county_code: str | None = None
    county_name: str | None = None


class ShortageRow(BaseModel):
    term: str
    prefecture: str
    needs: int
    seats: int


class PlanListItem(BaseModel):
    id: int
    status: PlanStatus
    status_label: str
    created_at: datetime
    finished_at: datetime | None
    created_by: str | None
    parameters: PlanCreate
    model_version: str | None
    error: str | None
    summary: PlanSummary | None


class PlanPublic(PlanListItem):
    assignments: list[AssignmentPublic]
    unfilled: list[UnfilledPublic]
    shortage: list[ShortageRow]


class SkippedProposal(BaseModel):
    need_id: int
    profile_id: int
    code: str
    message: str


class ApplyResult(BaseModel):
    plan_id: int
    created: int
    skipped: int
    placement_ids: list[int]
    skipped_by_reason: dict[str, int]
    skipped_items: list[SkippedProposal]
