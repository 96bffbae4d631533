import re
from datetime import datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict, ValidationInfo, field_validator

from app.auth.passwords import password_problem
from app.common import NameText, Role

_USERNAME = re.compile(r"^[A-Za-z0-9_.\-]{3,32}$")


def _username(value: str) -> str:
    value = value.strip()
    if not _USERNAME.match(value):
        raise ValueError("用户名须为 3–32 位字母、数字、下划线、点或连字符")
    return value.lower()


def _password(value: str) -> str:
    if not 8 <= len(value) <= 128:
        raise ValueError("密码长度须为 8–128 位")
    if not (re.search(r"[A-Za-z]", value) and re.search(r"\d", value)):
        raise ValueError("密码须同时包含字母和数字")
    problem = password_problem(value)
    if problem:
        raise ValueError(problem)
    return value


def _not_the_username(value: str, info: ValidationInfo) -> str:
    problem = password_problem(value, username=info.data.get("username"))
    if problem:
        raise ValueError(problem)
    return value


Username = Annotated[str, AfterValidator(_username)]
Password = Annotated[str, AfterValidator(_password)]


class RegisterIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    display_name: NameText | None = None

    @field_validator("password")
    @classmethod
    def _password_not_username(cls, value: str, info: ValidationInfo) -> str:
        return _not_the_username(value, info)


class AccountCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: Username
    password: Password
    role: Role
    county_code: str | None = None
    display_name: NameText | None = None

    @field_validator("password")
    @classmethod
    def _password_not_username(cls, value: str, info: ValidationInfo) -> str:
        return _not_the_username(value, info)


class AccountUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    display_name: NameText | None = None
    password: Password | None = None
    role: Role | None = None
    county_code: str | None = None
    active: bool | None = None

    @field_validator("display_name", "password", "role", "active", mode="before")
    @classmethod
    def _not_null(cls, value: object) -> object:
        if value is None:
            raise ValueError("不能设为空值")
        return value


class AccountPublic(BaseModel):
    id: int
    username: str
    role: Role
    county_code: str | None
    display_name: str
    active: bool
    created_at: datetime
    profile_id: int | None = None


class Token(BaseModel):
    access_token: str
    token_type: str = "bearer"
