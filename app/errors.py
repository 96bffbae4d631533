"""One error shape for every 4xx/5xx answer, with Chinese messages for people.

Body: ``{"code": ..., "field": ..., "message": "中文", "errors": [{"field", "code", "message"}]}``.
``code`` is the machine-readable English key, ``field`` the first offending field (dotted path)
or null, ``message`` what a person reads.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import ValidationError
from sqlalchemy.exc import IntegrityError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException

log = logging.getLogger("xiangcai.errors")


class AppError(Exception):
    """A refusal a person should understand: HTTP status, English code, Chinese message."""

    def __init__(
        self,
        status_code: int,
        code: str,
        message: str,
        *,
        field: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        headers: dict[str, str] | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status_code = status_code
        self.code = code
        self.message = message
        self.field = field
        self.errors = errors
        self.headers = headers
        self.extra = extra or {}

    def body(self) -> dict[str, Any]:
        errors = self.errors
        if errors is None:
            errors = [{"field": self.field, "code": self.code, "message": self.message}]
        return {
            "code": self.code,
            "field": self.field,
            "message": self.message,
            "errors": errors,
            **self.extra,
        }


def not_found(what: str, field: str = "id") -> AppError:
    return AppError(404, "not_found", f"{what}不存在", field=field)


def forbidden(message: str = "无权执行此操作") -> AppError:
    return AppError(403, "forbidden", message)


def conflict(code: str, message: str, *, field: str | None = None, **extra: Any) -> AppError:
    return AppError(409, code, message, field=field, extra=extra)


def too_many(code: str, message: str, *, retry_after: int, field: str) -> AppError:
    """429 with the seconds to wait, in the body's message and in ``Retry-After``."""
    return AppError(429, code, message, field=field, headers={"Retry-After": str(retry_after)})


# --- pydantic errors in Chinese --------------------------------------------------------------

FIELD_LABELS: dict[str, str] = {
    "kind": "类型",
    "name": "姓名/名称",
    "affiliation": "单位",
    "title": "标题/职称",
    "fields": "领域标签",
    "expertise": "专长",
    "achievements": "业绩成果",
    "hometown_county_code": "籍贯县",
    "availability": "服务方式",
    "capacity": "服务容量",
    "preferred_regions": "意向地区",
    "contact": "联系方式",
    "contact.phone": "手机号",
    "contact.email": "邮箱",
    "phone": "手机号",
    "email": "邮箱",
    "active": "是否有效",
    "county_code": "县（市、区）代码",
    "program": "项目类别",
    "description": "需求描述",
    "industry": "产业",
    "headcount": "需求人数",
    "status": "状态",
    "deadline": "截止日期",
    "username": "用户名",
    "password": "密码",
    "role": "角色",
    "display_name": "显示名称",
    "page": "页码",
    "page_size": "每页条数",
    "limit": "数量上限",
    "text": "文字内容",
    "file": "文件",
    "body": "请求体",
    "id": "编号",
    "profile_id": "档案编号",
    "need_id": "需求编号",
    "account_id": "账号编号",
    "placement_id": "对接记录编号",
    "owner_id": "所属账号",
    "code": "县（市、区）代码",
    "hometown": "籍贯县",
    "prefecture": "市（州）",
    "region": "区域",
    "field": "领域标签",
    "partial": "部分导入",
    "program_filter": "项目类别",
    "period": "服务期间",
    "service_days": "服务天数",
    "trainings": "培训人次",
    "problems_solved": "解决技术难题数",
    "techniques_promoted": "推广新技术数",
    "jobs_created": "带动就业人数",
    "reason": "理由",
    "note": "备注",
    "contact_name": "联系人",
    "contact_phone": "联系电话",
    "interest_id": "意向编号",
    "Idempotency-Key": "幂等键",
}


def _position(part: str) -> bool:
    return part.isascii() and part.isdigit()


def label(field: str | None) -> str:
    if not field:
        return "请求"
    if field in FIELD_LABELS:
        return FIELD_LABELS[field]
    parts = field.split(".")
    # a list position is ASCII digits ("²" is a digit to str.isdigit, and a name someone sent)
    index = next((p for p in reversed(parts) if _position(p)), None)
    names = [p for p in parts if not _position(p)]
    base = FIELD_LABELS.get(".".join(names)) or (FIELD_LABELS.get(names[-1]) if names else None)
    base = base or f"{field} "
    return f"{base}第 {int(index) + 1} 项" if index is not None else base


def _field_path(loc: Sequence[int | str]) -> str | None:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form", "cookie")]
    return ".".join(parts) if parts else ("body" if loc and loc[0] == "body" else None)


def _expected(ctx: dict[str, Any]) -> str:
    """The allowed values, each with its Chinese label: 专家(expert)、科研人员(researcher)…"""
    from app.common import VALUE_LABELS

    raw = str(ctx.get("expected", "")).replace(" or ", ", ").replace("'", "")
    values = [v.strip() for v in raw.split(",") if v.strip()]
    return "、".join(f"{VALUE_LABELS[v]}({v})" if v in VALUE_LABELS else v for v in values)


def chinese_message(err_type: str, ctx: dict[str, Any], msg: str) -> str:
    """Translate one pydantic error into a short Chinese phrase (without the field label)."""
    match err_type:
        case "missing" | "missing_argument":
            return "为必填项"
        case "string_too_short":
            n = ctx.get("min_length", 1)
            return "不能为空" if n == 1 else f"至少需要 {n} 个字符"
        case "string_too_long":
            return f"不能超过 {ctx.get('max_length')} 个字符"
        case "too_short":
            return f"至少需要 {ctx.get('min_length')} 项"
        case "too_long":
            return f"最多 {ctx.get('max_length')} 项"
        case "string_type" | "string_sub_type" | "string_unicode":
            return "必须是文本"
        case "int_parsing" | "int_type" | "int_from_float":
            return "必须是整数"
        case "float_parsing" | "float_type":
            return "必须是数字"
        case "bool_parsing" | "bool_type":
            return "必须是 true 或 false"
        case "greater_than_equal":
            return f"不能小于 {ctx.get('ge')}"
        case "greater_than":
            return f"必须大于 {ctx.get('gt')}"
        case "less_than_equal":
            return f"不能大于 {ctx.get('le')}"
        case "less_than":
            return f"必须小于 {ctx.get('lt')}"
        case "enum" | "literal_error":
            return f"取值必须是 {_expected(ctx)} 之一"
        case "list_type" | "tuple_type" | "set_type":
            return "必须是列表"
        case "dict_type" | "model_type" | "model_attributes_type" | "dataclass_type":
            return "必须是对象"
        case (
            "date_parsing"
            | "date_from_datetime_parsing"
            | "date_type"
            | "date_from_datetime_inexact"
        ):
            return "必须是有效日期，格式为 YYYY-MM-DD"
        case "date_out_of_range":
            return f"必须在 {ctx.get('earliest')} 至 {ctx.get('latest')} 之间"
        case "datetime_parsing" | "datetime_type" | "datetime_from_date_parsing":
            return "必须是有效时间（ISO 8601）"
        case "json_invalid":
            return "不是合法的 JSON"
        case "json_type":
            return "必须是 JSON 文本"
        case "extra_forbidden":
            return "是不认识的字段"
        case "value_error" | "assertion_error":
            text = msg.removeprefix("Value error, ").removeprefix("Assertion failed, ")
            return text
        case "uuid_parsing" | "uuid_type":
            return "必须是有效的 UUID"
        case "url_parsing" | "url_type":
            return "必须是有效的网址"
        case "bytes_type" | "bytes_too_long":
            return "格式不正确"
        case _:
            return "格式不正确"


def translate_errors(raw: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for err in raw:
        err_type = str(err.get("type", "value_error"))
        if err_type in ("too_short", "too_long") and isinstance(err.get("input"), str):
            err_type = "string_" + err_type  # length limits on text, reported as such
        field = _field_path(err.get("loc", ()))
        if err_type == "json_invalid":
            field = "body"
        phrase = chinese_message(err_type, dict(err.get("ctx") or {}), str(err.get("msg", "")))
        # Messages raised by our own validators are complete sentences already.
        message = (
            phrase if err_type in ("value_error", "assertion_error") else f"{label(field)}{phrase}"
        )
        out.append({"field": field, "code": err_type, "message": message})
    return out


def validation_error(errors: list[dict[str, Any]], status_code: int = 422) -> AppError:
    first = errors[0] if errors else {"field": None, "message": "请求参数有误"}
    return AppError(
        status_code,
        "validation_error",
        str(first["message"]),
        field=first["field"],
        errors=errors,
    )


# --- handlers --------------------------------------------------------------------------------

_HTTP_MESSAGES = {
    400: ("bad_request", "请求有误"),
    401: ("not_authenticated", "请先登录"),
    403: ("forbidden", "无权执行此操作"),
    404: ("not_found", "请求的资源不存在"),
    405: ("method_not_allowed", "不支持该请求方法"),
    406: ("not_acceptable", "不支持请求的格式"),
    409: ("conflict", "操作与当前状态冲突"),
    413: ("payload_too_large", "请求内容过大"),
    415: ("unsupported_media_type", "不支持的内容类型"),
    422: ("validation_error", "请求参数有误"),
    429: ("too_many_requests", "请求过于频繁，请稍后再试"),
}


def _json(
    status_code: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> JSONResponse:
    return JSONResponse(status_code=status_code, content=body, headers=headers)


async def _app_error(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, AppError)
    return _json(exc.status_code, exc.body(), exc.headers)


async def _request_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    errors = translate_errors(exc.errors())
    status = 400 if any(e["code"] == "json_invalid" for e in errors) else 422
    return _json(status, validation_error(errors, status).body())


async def _pydantic_validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ValidationError)
    errors = translate_errors(exc.errors())  # type: ignore[arg-type]
    return _json(422, validation_error(errors).body())


def _has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


async def _http_exception(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code, message = _HTTP_MESSAGES.get(exc.status_code, ("error", "请求失败"))
    field = None
    if exc.status_code == 400 and "parsing the body" in str(exc.detail):
        # FastAPI could not even decode the body (bad bytes, broken multipart).
        code, message, field = "body_invalid", "请求体无法解析，请检查格式与编码", "body"
    elif isinstance(exc.detail, str) and _has_chinese(exc.detail):
        message = exc.detail
    body = {
        "code": code,
        "field": field,
        "message": message,
        "errors": [{"field": field, "code": code, "message": message}],
    }
    return _json(exc.status_code, body, dict(exc.headers) if exc.headers else None)


async def _integrity(_request: Request, exc: Exception) -> JSONResponse:
    log.warning("integrity error: %s", exc)
    return _json(409, AppError(409, "conflict", "数据与已有记录冲突，请检查后重试").body())


async def _operational(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("database unavailable or busy", exc_info=exc)
    return _json(503, AppError(503, "service_unavailable", "数据库暂时不可用，请稍后再试").body())


async def _unexpected(_request: Request, exc: Exception) -> JSONResponse:
    log.exception("unhandled error", exc_info=exc)
    return _json(500, AppError(500, "internal_error", "服务器内部错误，请联系管理员").body())


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(AppError, _app_error)
    app.add_exception_handler(RequestValidationError, _request_validation)
    app.add_exception_handler(ValidationError, _pydantic_validation)
    app.add_exception_handler(StarletteHTTPException, _http_exception)
    app.add_exception_handler(IntegrityError, _integrity)
    app.add_exception_handler(OperationalError, _operational)
    app.add_exception_handler(Exception, _unexpected)
