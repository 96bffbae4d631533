"""Who may open which page: the page-flavoured ``allow``/``public`` and the pages' route class.

The rules are the API's (``app.auth.policy``): the same ``resolve_account`` reads the token,
now from the session cookie; the same ``RULE_ATTR`` marks the dependency, so ``GuardedRoute``
refuses a page that declares no rule. Object-level rules stay in the services, which the pages
call with the same ``Actor``. Every rule also checks the CSRF token of a POST.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from dataclasses import dataclass
from typing import Annotated, Any
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.responses import RedirectResponse
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlmodel import Session
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.auth.actor import Actor
from app.auth.models import Account
from app.auth.policy import RULE_ATTR, GuardedRoute, actor_of, resolve_account
from app.common import Role
from app.counties.models import County
from app.db import get_session
from app.errors import AppError
from app.matches.service import Matcher
from app.notifications import service as notifications
from app.web.session import check_csrf, session_token
from app.web.templating import render

log = logging.getLogger("xiangcai.web")


@dataclass(frozen=True)
class Viewer:
    """The signed-in person as the pages see them."""

    actor: Actor
    display_name: str
    county_name: str | None = None
    unread: int = 0  # notifications not yet read: the badge in every page's header

    @property
    def role(self) -> str:
        return self.actor.role


class LoginRequired(Exception):
    """Raised by a page rule for an anonymous visitor; answered with a redirect to sign in."""


def _viewer(request: Request, session: Session) -> Viewer | None:
    account: Account | None = resolve_account(request, session, session_token(request))
    if account is None:
        return None
    county = session.get(County, account.county_code) if account.county_code else None
    assert account.id is not None
    unread = notifications.unread_count(session, account.id)
    # As in resolve_account: no transaction may stay open across the hop to the page's thread.
    session.commit()
    viewer = Viewer(
        actor=actor_of(account, request),
        display_name=account.display_name or account.username,
        county_name=county.name if county else None,
        unread=unread,
    )
    request.state.viewer = viewer
    return viewer


CsrfChecked = Annotated[None, Depends(check_csrf)]


def page(*roles: Role) -> Any:
    """Dependency: the signed-in viewer if their role is one of ``roles``.

    Anonymous visitors are sent to the sign-in page; other roles get a refusal page.
    """
    allowed = frozenset(roles)

    def check(
        request: Request, session: Annotated[Session, Depends(get_session)], _csrf: CsrfChecked
    ) -> Viewer:
        viewer = _viewer(request, session)
        if viewer is None:
            raise LoginRequired()
        if viewer.role not in allowed:
            raise AppError(403, "forbidden", "您的账号无权访问此页面")
        return viewer

    setattr(check, RULE_ATTR, ("roles", allowed))
    return Depends(check)


def public_page() -> Any:
    """Dependency for pages anyone may open; gives the viewer if signed in, else None."""

    def check(
        request: Request, session: Annotated[Session, Depends(get_session)], _csrf: CsrfChecked
    ) -> Viewer | None:
        return _viewer(request, session)

    setattr(check, RULE_ATTR, ("public", frozenset()))
    return Depends(check)


AnyViewer = Annotated[Viewer, page(Role.admin, Role.province, Role.county, Role.talent)]
CountyViewer = Annotated[Viewer, page(Role.county)]
TalentViewer = Annotated[Viewer, page(Role.talent)]
AuditorViewer = Annotated[Viewer, page(Role.admin, Role.province)]
AdminViewer = Annotated[Viewer, page(Role.admin)]
# Needs and their match lists: the county for its own, the province and admin read all.
NeedReader = Annotated[Viewer, page(Role.admin, Role.province, Role.county)]
MaybeViewer = Annotated[Viewer | None, public_page()]


MATCHER_MISSING = "匹配服务正在启动或暂不可用，请稍后刷新页面。"


def matcher_of(request: Request) -> Matcher | None:
    """The app's matcher, or None while it is still starting."""
    return getattr(request.app.state, "matcher", None)


ERROR_TITLES = {
    400: "请求有误",
    401: "请先登录",
    403: "无权访问",
    404: "页面不存在",
    409: "操作与当前状态冲突",
    413: "文件过大",
    422: "填写有误",
    429: "操作过于频繁",
    500: "出错了",
    503: "服务暂不可用",
}


def _same_site_referer(request: Request) -> str | None:
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.netloc != request.url.netloc or referer.path == request.url.path:
        return None
    return referer.path + (f"?{referer.query}" if referer.query else "")


def error_page(request: Request, status_code: int, message: str) -> Response:
    return render(
        request,
        "error.html",
        {
            "title": ERROR_TITLES.get(status_code, "出错了"),
            "message": message,
            "back": _same_site_referer(request),
        },
        status_code=status_code,
    )


def login_redirect(request: Request) -> Response:
    target = request.url.path
    if request.method == "GET" and request.url.query:
        target += "?" + request.url.query
    return RedirectResponse(f"/login?next={quote(target, safe='/')}", status_code=303)


class PageRoute(GuardedRoute):
    """GuardedRoute for pages: refusals and errors become Chinese HTML pages, not JSON."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handler = super().get_route_handler()

        async def handle(request: Request) -> Response:
            try:
                return await handler(request)
            except LoginRequired:
                return login_redirect(request)
            except AppError as exc:
                return error_page(request, exc.status_code, exc.message)
            except RequestValidationError:
                # Only path parameters are declared on pages: a malformed id is a missing page.
                return error_page(request, 404, "您要找的页面不存在，请检查地址。")
            except StarletteHTTPException as exc:
                message = (
                    "请求内容无法解析，请检查后重试。" if exc.status_code == 400 else "请求失败"
                )
                return error_page(request, exc.status_code, message)
            except IntegrityError:
                log.warning("integrity error on %s", request.url.path, exc_info=True)
                return error_page(request, 409, "数据与已有记录冲突，请刷新页面后重试。")
            except OperationalError:
                log.exception("database unavailable on %s", request.url.path)
                return error_page(request, 503, "数据库暂时不可用，请稍后再试。")
            except Exception:
                log.exception("unhandled error on %s", request.url.path)
                return error_page(request, 500, "服务器内部错误，请联系管理员。")

        return handle
