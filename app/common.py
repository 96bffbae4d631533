"""Field types, enumerations and pagination shared by the feature packages."""

from __future__ import annotations

import re
from datetime import date, datetime
from enum import StrEnum
from typing import Annotated, Any, Generic, TypeVar

from fastapi import Path, Query
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    Field,
    StringConstraints,
    ValidationInfo,
)
from pydantic_core import PydanticCustomError

from app.errors import label

T = TypeVar("T")

MAX_TEXT = 4000
MAX_DB_ID = 2_147_483_647
# C0 controls other than tab/newline/carriage return, DEL, and unpaired surrogates break
# PostgreSQL (NUL) or display. The bidirectional controls (Unicode's Bidi_Control: U+061C,
# U+200E-U+200F, U+202A-U+202E, U+2066-U+2069) make text display in another order than it is
# stored, and the zero-width characters (U+200B-U+200D, U+2060, U+FEFF) make two names that
# look the same differ: refuse them all everywhere.
_BAD_CHARS = re.compile(
    r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069"
    r"\ufeff\ud800-\udfff]"
)


def has_bad_chars(value: str) -> bool:
    """Whether ``value`` holds a control or invisible character refused in every text."""
    return _BAD_CHARS.search(value) is not None


def _clean_text(value: str, where: str = "文本") -> str:
    if has_bad_chars(value):
        raise ValueError(f"{where}包含不允许的控制字符或不可见字符（如从右到左覆盖符、零宽字符）")
    return value


def _no_control_chars(value: str, info: ValidationInfo) -> str:
    return _clean_text(value, label(info.field_name))


def _strip(value: object) -> object:
    return value.strip() if isinstance(value, str) else value


ShortText = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(min_length=1, max_length=100),
    AfterValidator(_no_control_chars),
]
NameText = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(min_length=1, max_length=50),
    AfterValidator(_no_control_chars),
]
LongText = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(min_length=1, max_length=MAX_TEXT),
    AfterValidator(_no_control_chars),
]
SearchText = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(min_length=1, max_length=500),
    AfterValidator(_no_control_chars),
]
TagText = Annotated[
    str,
    BeforeValidator(_strip),
    StringConstraints(min_length=1, max_length=20),
    AfterValidator(_no_control_chars),
]

_PHONE = re.compile(r"^1[3-9]\d{9}$")
# Deliberately plain: one @, a dot in the domain, no spaces; the service never sends mail.
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@[A-Za-z0-9\-]+(\.[A-Za-z0-9\-]+)+$")


def _phone(value: str) -> str:
    value = value.replace(" ", "").replace("-", "")
    if value.startswith("+86"):
        value = value[3:]
    if not _PHONE.match(value):
        raise ValueError("手机号格式不正确，应为 11 位中国大陆手机号")
    return value


def _email(value: str) -> str:
    if len(value) > 254 or not _EMAIL.match(value):
        raise ValueError("邮箱格式不正确")
    return value.lower()


Phone = Annotated[str, BeforeValidator(_strip), AfterValidator(_phone)]
Email = Annotated[str, BeforeValidator(_strip), AfterValidator(_email)]


def like_pattern(value: str) -> str:
    """A LIKE pattern matching ``value`` anywhere, with its wildcards escaped (use escape='\\')."""
    escaped = value.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


def mask_phone(phone: str | None) -> str | None:
    if not phone:
        return phone
    return phone[:3] + "****" + phone[-4:] if len(phone) >= 7 else "****"


def mask_email(email: str | None) -> str | None:
    if not email or "@" not in email:
        return email
    local, domain = email.split("@", 1)
    return (local[:1] + "***@" + domain) if local else "***@" + domain


class Role(StrEnum):
    admin = "admin"
    province = "province"
    county = "county"
    talent = "talent"


class Region(StrEnum):
    east = "east"
    central = "central"
    west = "west"


class ProfileKind(StrEnum):
    expert = "expert"
    researcher = "researcher"
    returnee = "returnee"
    entrepreneur = "entrepreneur"
    team = "team"
    organization = "organization"


class Availability(StrEnum):
    full_time = "full_time"
    part_time = "part_time"
    remote = "remote"


class Program(StrEnum):
    science_commissioner = "science_commissioner"
    return_home = "return_home"


class NeedStatus(StrEnum):
    open = "open"
    filled = "filled"
    closed = "closed"


ROLE_LABELS = {
    Role.admin: "系统管理员",
    Role.province: "省委组织部审计",
    Role.county: "县局工作人员",
    Role.talent: "人才",
}
REGION_LABELS = {Region.east: "东部", Region.central: "中部", Region.west: "西部"}
KIND_LABELS = {
    ProfileKind.expert: "专家",
    ProfileKind.researcher: "科研人员",
    ProfileKind.returnee: "返乡人员",
    ProfileKind.entrepreneur: "企业家",
    ProfileKind.team: "科技特派团",
    ProfileKind.organization: "法人科技特派员",
}
AVAILABILITY_LABELS = {
    Availability.full_time: "全职",
    Availability.part_time: "兼职",
    Availability.remote: "远程",
}
PROGRAM_LABELS = {
    Program.science_commissioner: "科技特派员",
    Program.return_home: "三乡工程",
}
NEED_STATUS_LABELS = {
    NeedStatus.open: "征集中",
    NeedStatus.filled: "已满员",
    NeedStatus.closed: "已关闭",
}

# Path and query parameters, bounded so that no value can overflow a database integer.
IdPath = Annotated[int, Path(ge=1, le=MAX_DB_ID)]
# An id in a request body (a reference to a row): bounded like a path's, so that PostgreSQL's
# integer is never overflowed (an owner_id of 737774519669299072 was a 500 there).
DbId = Annotated[int, Field(ge=1, le=MAX_DB_ID)]
PageQuery = Annotated[int, Query(ge=1, le=100_000)]
PageSizeQuery = Annotated[int, Query(ge=1, le=100)]
CountyCodeQuery = Annotated[str | None, Query(pattern=r"^\d{6}$")]


def _optional_clean(value: str | None) -> str | None:
    return None if value is None else _clean_text(value)


TextQuery = Annotated[
    str | None, Query(min_length=1, max_length=100), AfterValidator(_optional_clean)
]

# Dates and times in query strings are ISO 8601 and nothing else: pydantic alone would read
# ``?to=0`` as 1 January 1970 and ``?since=20260101`` as a Unix timestamp. A time may be given
# as a plain date (midnight) and with or without an offset.
_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_ISO_DATETIME = re.compile(
    r"\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?"
)


# The days a date may name: wide enough for any real deadline or period, narrow enough that a
# day's start in Beijing time, moved to UTC or to the next day, stays inside Python's dates
# (``from=0001-01-01`` had overflowed into a 500).
EARLIEST_DAY = date(1900, 1, 1)
LATEST_DAY = date(2999, 12, 31)


def _iso_date(value: object) -> object:
    # In a JSON body pydantic would also read a number as a Unix time (``"deadline": 0``).
    if (isinstance(value, str) and not _ISO_DATE.fullmatch(value)) or not isinstance(
        value, str | date | None
    ):
        raise PydanticCustomError("date_parsing", "Input should be an ISO 8601 date")
    return value


def _iso_datetime(value: object) -> object:
    if (isinstance(value, str) and not _ISO_DATETIME.fullmatch(value)) or not isinstance(
        value, str | datetime | None
    ):
        raise PydanticCustomError("datetime_parsing", "Input should be an ISO 8601 datetime")
    return value


def day_in_range(value: date) -> bool:
    day = value.date() if isinstance(value, datetime) else value
    return EARLIEST_DAY <= day <= LATEST_DAY


_D = TypeVar("_D", bound=date)


def _bounded(value: _D | None) -> _D | None:
    if value is not None and not day_in_range(value):
        raise PydanticCustomError(
            "date_out_of_range",
            "Date should be between {earliest} and {latest}",
            {"earliest": EARLIEST_DAY.isoformat(), "latest": LATEST_DAY.isoformat()},
        )
    return value


# A date in a body or a query string: ISO 8601 only, within EARLIEST_DAY..LATEST_DAY.
Day = Annotated[date, BeforeValidator(_iso_date), AfterValidator(_bounded)]
DateQuery = Annotated[date | None, BeforeValidator(_iso_date), AfterValidator(_bounded)]
DateTimeQuery = Annotated[datetime | None, BeforeValidator(_iso_datetime), AfterValidator(_bounded)]


class Page(BaseModel, Generic[T]):
    items: list[T]
    total: int
    page: int
    page_size: int


class Message(BaseModel):
    message: str = Field(description="给用户看的中文说明")


# Every enumeration value with its Chinese label, for error messages.
VALUE_LABELS: dict[str, str] = {
    str(k): v
    for table in (
        ROLE_LABELS,
        REGION_LABELS,
        KIND_LABELS,
        AVAILABILITY_LABELS,
        PROGRAM_LABELS,
        NEED_STATUS_LABELS,
    )
    for k, v in table.items()
}


_Public = TypeVar("_Public", bound=BaseModel)


def public_of(model: type[_Public], row: Any, **extra: Any) -> _Public:
    """``model`` filled from the row's attributes of the same names, and ``extra`` for the
    fields a row does not hold as they are shown (names from other rows, labels, parsed JSON)."""
    own = {
        name: getattr(row, name)
        for name in model.model_fields
        if name not in extra and hasattr(row, name)
    }
    return model(**own, **extra)
