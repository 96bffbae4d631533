"""Jinja2 set-up, the page chrome (navigation per role) and the two ways a page answers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from app.audit.service import ACTION_LABELS
from app.db import BEIJING
from app.invitations.schemas import TALENT_STATE_LABELS
from app.web import choices
from app.web.session import (
    CSRF_FIELD,
    clear_flashes,
    csrf_token,
    flash,
    take_flashes,
    write_csrf_cookie,
)

HERE = Path(__file__).resolve().parent

# Score components of a match (matching/fusion.py), in the order they are shown.
COMPONENT_LABELS = {
    "dense": "语义相近",
    "dense2": "深度语义",
    "lexical": "关键词吻合",
    "hometown": "籍贯",
    "region": "地区意向",
    "availability": "服务方式",
    "programme": "人才类别",
}

LABELS: dict[str, dict[str, str]] = {
    "program": dict(choices.PROGRAMS),
    "need_status": dict(choices.NEED_STATUSES),
    "kind": dict(choices.KINDS),
    "availability": dict(choices.AVAILABILITIES),
    "region": dict(choices.REGIONS),
    "role": dict(choices.ROLES) | {"system": "系统", "anonymous": "未登录"},
    "placement_status": dict(choices.PLACEMENT_STATUSES),
    "action": ACTION_LABELS,
    "component": COMPONENT_LABELS,
    "talent_state": {str(k): v for k, v in TALENT_STATE_LABELS.items()},
}

SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
        "frame-ancestors 'none'; form-action 'self'; base-uri 'self'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    "Cache-Control": "no-store",
}


def beijing(value: datetime | date | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        return value.astimezone(BEIJING).strftime(fmt)
    return value.strftime("%Y-%m-%d")


def _query(params: dict[str, Any], **changes: Any) -> str:
    """The current filters with some values changed, as a query string (empty values dropped)."""
    merged = {**params, **changes}
    return urlencode({k: v for k, v in merged.items() if v not in (None, "")}, doseq=True)


templates = Jinja2Templates(directory=HERE / "templates")
templates.env.filters["bj"] = beijing
# The fixed option lists (choices.ROLES …) are the same on every page; the county lists, read
# from the database, are passed by the pages that show them.
templates.env.globals.update(labels=LABELS, choices=choices, query=_query, CSRF_FIELD=CSRF_FIELD)


@dataclass(frozen=True)
class NavItem:
    href: str
    label: str


NAV: dict[str, list[NavItem]] = {
    "county": [
        NavItem("/needs", "本县需求"),
        NavItem("/needs/new", "发布需求"),
        NavItem("/placements", "对接记录"),
    ],
    "talent": [
        NavItem("/me", "我的工作台"),
        NavItem("/me/matches", "适合我的需求"),
        NavItem("/me/needs", "浏览需求"),
        NavItem("/me/profile", "我的档案"),
        NavItem("/placements", "我的对接"),
    ],
    "province": [
        NavItem("/stats", "统计分析"),
        NavItem("/stats/findings", "监测发现"),
        NavItem("/stats/map", "县域地图"),
        NavItem("/placements", "全省对接"),
        NavItem("/needs", "全省需求"),
        NavItem("/plans", "全省统筹"),
        NavItem("/audit", "审计链"),
    ],
    "admin": [
        NavItem("/admin/accounts", "账号管理"),
        NavItem("/admin/import", "批量导入"),
        NavItem("/placements", "对接记录"),
        NavItem("/needs", "需求"),
        NavItem("/stats", "统计"),
        NavItem("/plans", "全省统筹"),
        NavItem("/audit", "审计链"),
    ],
}

HOME = {"county": "/needs", "talent": "/me", "province": "/stats", "admin": "/admin/accounts"}


def _current(items: list[NavItem], path: str) -> str | None:
    """The nav entry for this page: the longest href that the path starts with."""
    best = None
    for item in items:
        if (path == item.href or path.startswith(item.href + "/")) and (
            best is None or len(item.href) > len(best)
        ):
            best = item.href
    return best


def render(
    request: Request,
    template: str,
    context: dict[str, Any] | None = None,
    *,
    status_code: int = 200,
) -> HTMLResponse:
    viewer = getattr(request.state, "viewer", None)
    items = NAV.get(viewer.actor.role, []) if viewer else []
    ctx: dict[str, Any] = {
        "viewer": viewer,
        "nav": items,
        "nav_current": _current(items, request.url.path),
        "home": HOME.get(viewer.actor.role, "/") if viewer else "/",
        "csrf_token": csrf_token(request),
        "flashes": take_flashes(request),
        "params": dict(request.query_params),
        **(context or {}),
    }
    response = templates.TemplateResponse(
        request, template, ctx, status_code=status_code, headers=SECURITY_HEADERS
    )
    write_csrf_cookie(request, response)
    clear_flashes(request, response)
    return response


def redirect(
    request: Request, url: str, message: str | None = None, level: str = "success"
) -> Response:
    """303 See Other after a successful form, with an optional message for the next page."""
    response = RedirectResponse(url, status_code=303)
    if message:
        flash(request, response, message, level)
    return response
