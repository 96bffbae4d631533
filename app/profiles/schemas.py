from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from app.common import (
    Availability,
    DbId,
    Email,
    LongText,
    NameText,
    Phone,
    ProfileKind,
    Region,
    ShortText,
    TagText,
)

CountyCode = Annotated[str, StringConstraints(pattern=r"^\d{6}$")]
Tags = Annotated[list[TagText], Field(max_length=10)]
Regions = Annotated[list[Region], Field(max_length=3)]
Capacity = Annotated[int, Field(ge=1, le=10)]


def _dedupe(values: list[str] | None) -> list[str] | None:
    if values is None:
        return None
    seen: dict[str, None] = {}
    for v in values:
        seen.setdefault(v, None)
    return list(seen)


class ContactIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    phone: Phone | None = None
    email: Email | None = None


class ContactOut(BaseModel):
    phone: str | None
    email: str | None
    masked: bool = Field(description="为 true 时号码已打码（138****5678）")


class ProfileBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ProfileKind
    name: NameText
    affiliation: ShortText
    title: ShortText
    fields: Tags = []
    expertise: LongText
    achievements: LongText | None = None
    hometown_county_code: CountyCode | None = None
    availability: Availability
    capacity: Capacity = 1
    preferred_regions: Regions = []
    contact: ContactIn = ContactIn()
    active: bool = True

    @field_validator("fields", "preferred_regions", mode="after")
    @classmethod
    def _unique(cls, value: list[str]) -> list[str]:
        return _dedupe(value) or []


class ProfileCreate(ProfileBase):
    owner_id: DbId | None = Field(
        default=None, description="由管理员或省委组织部代为建档时，可指定所属人才账号"
    )


_REQUIRED = (
    "kind",
    "name",
    "affiliation",
    "title",
    "fields",
    "expertise",
    "availability",
    "capacity",
    "preferred_regions",
    "contact",
    "active",
)


class ProfileUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: ProfileKind | None = None
    name: NameText | None = None
    affiliation: ShortText | None = None
    title: ShortText | None = None
    fields: Tags | None = None
    expertise: LongText | None = None
    achievements: LongText | None = None
    hometown_county_code: CountyCode | None = None
    availability: Availability | None = None
    capacity: Capacity | None = None
    preferred_regions: Regions | None = None
    contact: ContactIn | None = None
    active: bool | None = None

    @field_validator(*_REQUIRED, mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("不能设为空值")
        return value

    @field_validator("fields", "preferred_regions", mode="after")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        return _dedupe(value)


class ProfilePublic(BaseModel):
    id: int
    owner_id: int | None
    kind: ProfileKind
    name: str
    affiliation: str
    title: str
    fields: list[str]
    expertise: str
    achievements: str | None
    hometown_county_code: str | None
    availability: Availability
    capacity: int
    preferred_regions: list[Region]
    contact: ContactOut
    active: bool
    created_at: datetime
    updated_at: datetime
