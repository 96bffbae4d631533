from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.common import LongText


class InterestStatus(StrEnum):
    active = "active"
    withdrawn = "withdrawn"


STATUS_LABELS = {InterestStatus.active: "有意向", InterestStatus.withdrawn: "已撤回"}


class InterestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    note: LongText | None = Field(
        default=None, description="给县局的留言，如能提供的帮助、可服务的时间"
    )


class InterestPublic(BaseModel):
    id: int
    need_id: int
    profile_id: int
    note: str | None
    status: InterestStatus
    created_at: datetime
    updated_at: datetime
    withdrawn_at: datetime | None


class InterestItem(InterestPublic):
    profile_name: str
    rank: int | None = Field(description="此人在该需求当前匹配名单中的名次；不在名单中为 null")
    score: float | None


class NeedInterests(BaseModel):
    need_id: int
    model_version: str
    window: int = Field(description="名次所依据的匹配名单长度")
    items: list[InterestItem]
