"""What a form keeps between a failed submit and the page that shows it again, and lenient
reading of the filter forms' query strings.

Validation itself is the services' and the schemas' (pydantic); this module only puts their
Chinese messages (``app.errors.translate_errors``) beside the field they belong to.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum
from typing import Any, TypeVar

from fastapi import Request
from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.datastructures import FormData, UploadFile

from app.common import EARLIEST_DAY, LATEST_DAY, day_in_range, has_bad_chars
from app.errors import AppError, label, translate_errors
from app.web.session import CSRF_FIELD

M = TypeVar("M", bound=BaseModel)
T = TypeVar("T")
E = TypeVar("E", bound=StrEnum)


@dataclass
class Form:
    """Submitted values (as typed) and the messages for each field."""

    values: dict[str, Any] = field(default_factory=dict)
    errors: dict[str, str] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)
    # Error paths of the schema that belong to a differently named input ("contact.phone").
    aliases: dict[str, str] = field(default_factory=dict)
    # What this form calls a field, where the generic label would read oddly ("标题").
    labels: dict[str, str] = field(default_factory=dict)
    # The HTTP status to show the form again with.
    status_code: int = 422

    @classmethod
    def read(cls, data: FormData, *, lists: Iterable[str] = (), **kwargs: Any) -> Form:
        multi = set(lists)
        values: dict[str, Any] = {}
        for key in data:
            if key == CSRF_FIELD:
                continue
            items = [v for v in data.getlist(key) if isinstance(v, str)]
            if key in multi:
                values[key] = items
            elif items:
                values[key] = items[-1]
        for key in multi:
            values.setdefault(key, [])
        return cls(values=values, **kwargs)

    def get(self, name: str, default: str = "") -> str:
        value = self.values.get(name, default)
        return value if isinstance(value, str) else default

    def getlist(self, name: str) -> list[str]:
        value = self.values.get(name, [])
        return list(value) if isinstance(value, list) else [value]

    def error(self, name: str) -> str | None:
        return self.errors.get(name)

    @property
    def ok(self) -> bool:
        return not self.errors and not self.general

    def add(self, path: str | None, message: str) -> None:
        """Put a message beside the input that ``path`` (a schema field path) belongs to."""
        name = self._input_for(path)
        if name is None:
            if message not in self.general:
                self.general.append(message)
        else:
            self.errors.setdefault(name, message)

    def _input_for(self, path: str | None) -> str | None:
        if not path:
            return None
        if path in self.aliases:
            return self.aliases[path]
        # "fields.2" (the third tag) belongs to the "fields" input.
        parts = [p for p in path.split(".") if not (p.isascii() and p.isdigit())]
        for n in range(len(parts), 0, -1):
            candidate = ".".join(parts[:n])
            if candidate in self.aliases:
                return self.aliases[candidate]
            if candidate in self.values:
                return candidate
        return None

    def add_validation(self, exc: ValidationError) -> None:
        for err in translate_errors(exc.errors()):  # type: ignore[arg-type]
            path, message = err["field"], str(err["message"])
            generic = label(path)
            if path in self.labels and message.startswith(generic):
                message = self.labels[path] + message[len(generic) :]
            self.add(path, message)

    def add_app_error(self, exc: AppError) -> None:
        for err in exc.errors or [{"field": exc.field, "message": exc.message}]:
            self.add(err.get("field"), str(err.get("message") or exc.message))

    def validate(self, model: type[M], data: Mapping[str, Any]) -> M | None:
        """``model`` built from ``data``, or None with the messages recorded on the form."""
        try:
            return model.model_validate(data)
        except ValidationError as exc:
            self.add_validation(exc)
            return None


def save(session: Session, form: Form, write: Callable[[], T]) -> T | None:
    """Run a service write and commit it; the written object, or None if it was refused.

    A refusal of the input (an AppError) is rolled back and its message put on the form, with
    its status in ``form.status_code``; "no access" and "not found" are not about the input and
    stay errors (the refusal page).
    """
    try:
        result = write()
    except AppError as exc:
        session.rollback()
        if exc.status_code in (401, 403, 404):
            raise
        form.add_app_error(exc)
        form.status_code = exc.status_code
        return None
    session.commit()
    return result


def non_empty(values: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """The given keys whose values were filled in; a blank input counts as not given."""
    out: dict[str, Any] = {}
    for key in keys:
        value = values.get(key)
        if isinstance(value, str):
            value = value.strip()
        if value not in (None, "", []):
            out[key] = value
    return out


def split_tags(text: str) -> list[str]:
    """Tags typed in one box, separated by commas, 、, semicolons or spaces."""
    return [t for t in re.split(r"[,，、;；\s]+", text) if t]


async def read_form(request: Request) -> FormData:
    return await request.form()


def upload_of(data: FormData, name: str) -> UploadFile | None:
    value = data.get(name)
    return value if isinstance(value, UploadFile) and value.filename else None


_COUNTY = re.compile(r"^\d{6}$")


class QueryArgs:
    """Filters from a GET form: blanks mean "any", bad values are reported, never a crash."""

    def __init__(self, request: Request) -> None:
        self.params = request.query_params
        self.errors: dict[str, str] = {}

    def text(self, name: str, max_length: int = 100) -> str | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        if len(value) > max_length:
            self.errors[name] = f"关键词不能超过 {max_length} 个字符"
            return None
        if any(ord(c) < 32 for c in value) or has_bad_chars(value):
            self.errors[name] = (
                "关键词包含不允许的控制字符或不可见字符（如从右到左覆盖符、零宽字符）"
            )
            return None
        return value

    def choice(self, name: str, enum: type[E]) -> E | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        try:
            return enum(value)
        except ValueError:
            self.errors[name] = "请从列表中选择"
            return None

    def county(self, name: str = "county_code") -> str | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        if not _COUNTY.match(value):
            self.errors[name] = "请从列表中选择县（市、区）"
            return None
        return value

    def integer(self, name: str, default: int, lo: int, hi: int) -> int:
        value = (self.params.get(name) or "").strip()
        if not value:
            return default
        try:
            number = int(value)
        except ValueError:
            self.errors[name] = "必须是整数"
            return default
        return min(max(number, lo), hi)

    def day(self, name: str) -> date | None:
        value = (self.params.get(name) or "").strip()
        if not value:
            return None
        try:
            day = date.fromisoformat(value)
        except ValueError:
            self.errors[name] = "日期格式应为 YYYY-MM-DD"
            return None
        if not day_in_range(day):
            self.errors[name] = f"日期应在 {EARLIEST_DAY} 至 {LATEST_DAY} 之间"
            return None
        return day

    def page(self) -> int:
        return self.integer("page", 1, 1, 100_000)


@dataclass(frozen=True)
class Pager:
    page: int
    page_size: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def first(self) -> int:
        return 0 if self.total == 0 else (self.page - 1) * self.page_size + 1

    @property
    def last(self) -> int:
        return min(self.total, self.page * self.page_size)
