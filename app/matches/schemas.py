from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from app.common import Program, SearchText
from app.invitations.schemas import TalentState


class MatchItem(BaseModel):
    profile_id: int | None = None
    need_id: int | None = None
    rank: int
    score: float
    components: dict[str, float]
    reasons: list[str]
    degree: int = Field(0, description="匹配度 0–100：综合得分占各项均为最佳时得分的比例")
    level: str = Field("低", description="匹配度高/中/低")
    applies: list[str] = Field(
        default_factory=list, description="计入本项目得分的构成（其余构成不适用）"
    )
    interested: bool | None = Field(
        default=None, description="本人已对该需求表达意向（仅需求的匹配名单给出）"
    )
    # People on a need's list (None on a person's list of needs): whether they can answer online
    # (已注册), or have no account and must be reached offline, perhaps invited already.
    has_account: bool | None = None
    talent_state: TalentState | None = None


class NeedMatches(BaseModel):
    need_id: int
    model_version: str
    items: list[MatchItem]


class ProfileMatches(BaseModel):
    profile_id: int
    model_version: str
    items: list[MatchItem]


class SearchIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    text: SearchText
    program: Program | None = None
    county_code: Annotated[str, StringConstraints(pattern=r"^\d{6}$")] | None = None
    limit: Annotated[int, Field(ge=1, le=50)] = 10


class SearchResult(BaseModel):
    model_version: str
    items: list[MatchItem]
