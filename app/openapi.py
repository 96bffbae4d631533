"""What the OpenAPI document says about refusals.

Every 4xx answer of the API has the one body of ``app/errors.py``; FastAPI would only document
its own 422 shape, which the service never sends. The statuses each operation can give follow
from the route itself, decided here in one place rather than on forty decorators:

- 401 where the route has an ``allow(...)`` rule (not on ``public()`` routes), and 403 where
  that rule leaves a role out or the services check the object (a path naming one, a write);
- 404 where the path names an object; 400 and 422 where a body or parameters are read;
- 409 on every write, since a unique constraint lost to a concurrent writer answers 409
  (``app/errors.py``) besides the conflicts the services raise (reads sent as POST excepted);
- the few others (413 and 400 for uploads, 401 and 429 for sign-in, 404 for a proposal naming a
  need or person that does not exist, 403 for a list filter outside the reader's scope) and the
  exports' content types
  from the tables below, which fail loudly if a route they name disappears.
"""

from collections.abc import Callable, Iterable
from typing import Any

from fastapi import APIRouter, FastAPI
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field

from app.auth.policy import find_rule
from app.common import Role


class ErrorDetail(BaseModel):
    field: str | None = Field(description="出错的字段（点号分隔的路径），无则为 null")
    code: str = Field(description="英文错误代码")
    message: str = Field(description="给用户看的中文说明")


class ErrorBody(BaseModel):
    """Every refusal of the API (extra keys, such as an import's report, may follow)."""

    model_config = ConfigDict(extra="allow")

    code: str = Field(description="英文错误代码，如 not_found、validation_error")
    field: str | None = Field(description="第一个出错的字段，无则为 null")
    message: str = Field(description="给用户看的中文说明")
    errors: list[ErrorDetail] = Field(description="全部错误，逐项列出")


DESCRIPTIONS = {
    400: "请求无法解析（如 JSON 或上传文件格式有误）",
    401: "未登录或登录已失效",
    403: "当前角色无权执行此操作",
    404: "对象不存在",
    409: "与当前状态或已有记录冲突",
    410: "已失效（如邀请码已使用、已作废或已过期）",
    413: "上传内容超过上限",
    422: "参数或内容未通过校验",
    429: "尝试过于频繁，请稍后再试",
}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Statuses a route gives beyond what its shape says, by (method, path).
EXTRA_STATUSES: dict[tuple[str, str], tuple[int, ...]] = {
    ("POST", "/api/v1/profiles/import"): (400, 413),
    ("POST", "/api/v1/needs/import"): (400, 413),
    ("POST", "/api/v1/auth/token"): (401, 429),  # a wrong name or password
    ("GET", "/api/v1/profiles/me"): (404,),
    ("POST", "/api/v1/placements"): (404,),  # its body's need_id or profile_id
    # lists open to every role that refuse a filter outside the reader's scope (another
    # county's rows; a talent asking for needs that are not open)
    ("GET", "/api/v1/needs"): (403,),
    ("GET", "/api/v1/placements"): (403,),
    ("POST", "/api/v1/auth/claim"): (410, 429),
}
# Routes that answer with a file instead of JSON: their 200 content types.
FILE_CONTENT: dict[tuple[str, str], dict[str, Any]] = {
    ("GET", "/api/v1/placements/export"): {
        "text/csv": {"schema": {"type": "string"}},
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    },
    ("GET", "/api/v1/imports/templates/{kind}.xlsx"): {
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    },
    ("GET", "/api/v1/plans/{plan_id}/export.xlsx"): {
        XLSX: {"schema": {"type": "string", "format": "binary"}},
    },
}
# POST routes that write nothing a concurrent writer could collide with.
READS_BY_POST = {("POST", "/api/v1/search"), ("POST", "/api/v1/auth/token")}
_REF = "#/components/schemas/{model}"
_WRITES = {"POST", "PUT", "PATCH", "DELETE"}


def _statuses(route: APIRoute, method: str) -> set[int]:
    statuses: set[int] = set()
    rule = find_rule(route.dependant)
    names_object = bool(route.dependant.path_params)
    writes = method in _WRITES and (method, route.path) not in READS_BY_POST
    if rule is None or rule[0] != "public":
        statuses.add(401)
        if rule is None or rule[1] != set(Role) or names_object or writes:
            statuses.add(403)
    if names_object:
        statuses.add(404)
    if route.body_field is not None:
        statuses |= {400, 422}
    if route.dependant.query_params or names_object:
        statuses.add(422)
    if writes:
        statuses.add(409)
    return statuses | set(EXTRA_STATUSES.get((method, route.path), ()))


def _declare(schema: dict[str, Any], routes: list[APIRoute]) -> None:
    components = schema.setdefault("components", {}).setdefault("schemas", {})
    body = ErrorBody.model_json_schema(ref_template=_REF)
    components.update(body.pop("$defs", {}))
    components["ErrorBody"] = body
    error = {"application/json": {"schema": {"$ref": _REF.format(model="ErrorBody")}}}
    seen: set[tuple[str, str]] = set()
    for route in routes:
        for method in route.methods or ():
            operation = schema["paths"].get(route.path, {}).get(method.lower())
            if operation is None:
                continue
            seen.add((method, route.path))
            responses = operation["responses"]
            for status in sorted(_statuses(route, method)):
                responses[str(status)] = {"description": DESCRIPTIONS[status], "content": error}
            if (method, route.path) in FILE_CONTENT:
                responses["200"]["content"] = FILE_CONTENT[(method, route.path)]
    stale = (set(EXTRA_STATUSES) | set(FILE_CONTENT) | READS_BY_POST) - seen
    if stale:
        raise RuntimeError(f"OpenAPI tables name routes that do not exist: {sorted(stale)}")
    # FastAPI's own validation body is documented nowhere now: drop it.
    text = str(schema["paths"])
    for name in ("HTTPValidationError", "ValidationError"):
        if f"/{name}'" not in text:
            components.pop(name, None)


def install(app: FastAPI, routers: Iterable[APIRouter]) -> None:
    """Document the refusals of the routes of ``routers`` in ``app``'s OpenAPI document."""
    routes = [
        route
        for router in routers
        for route in router.routes
        if isinstance(route, APIRoute) and route.include_in_schema
    ]
    generate: Callable[[], dict[str, Any]] = app.openapi

    def openapi() -> dict[str, Any]:
        schema = generate()  # cached by FastAPI; declaring again gives the same document
        _declare(schema, routes)
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
