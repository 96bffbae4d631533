from datetime import date, datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.common import Day, LongText, NameText, NeedStatus, Phone, Program, ShortText

CountyCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Headcount = Annotated[int, Field(ge=1, le=20)]
Industry = Annotated[ShortText, StringConstraints(max_length=50)]


class NeedCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    county_code: CountyCode | None = Field(
        default=None, description="县局账号可省略，默认为本县；管理员必须填写"
    )
    program: Program
    title: ShortText
    description: LongText
    industry: Industry
    headcount: Headcount = 1
    status: NeedStatus = NeedStatus.open
    deadline: Day | None = None
    contact_name: NameText | None = Field(
        default=None, description="县局联系人，向已登录的人才显示"
    )
    contact_phone: Phone | None = Field(default=None, description="联系人手机号")


class NeedUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    program: Program | None = None
    title: ShortText | None = None
    description: LongText | None = None
    industry: Industry | None = None
    headcount: Headcount | None = None
    status: NeedStatus | None = None
    deadline: Day | None = None
    contact_name: NameText | None = None
    contact_phone: Phone | None = None

    @field_validator(
        "program", "title", "description", "industry", "headcount", "status", mode="before"
    )
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("不能设为空值")
        return value


class NeedPublic(BaseModel):
    id: int
    county_code: str
    county_name: str
    prefecture: str
    region: str
    program: Program
    title: str
    description: str
    industry: str
    headcount: int
    status: NeedStatus
    deadline: date | None
    contact_name: str | None
    contact_phone: str | None
    created_at: datetime
    updated_at: datetime
