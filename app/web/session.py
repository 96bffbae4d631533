"""The web pages' cookies: the session (the API's own JWT), the CSRF token and flash messages.

- ``xiangcai_session``: the access token that ``POST /api/v1/auth/token`` would return, in an
  HttpOnly, SameSite=Lax cookie (``Secure`` when ``settings.cookie_secure``). The API itself
  never reads it (bearer tokens only), so cross-site requests cannot ride on it there.
- ``xiangcai_csrf``: a random token and an HMAC over it *and the session cookie*, so a token is
  good for one session only (it changes at sign-in and sign-out) and cannot be planted from
  outside. Every form carries the token in a hidden field; every POST must bring both and they
  must agree (signed double-submit cookie).
- ``xiangcai_flash``: the one-shot messages shown after a redirect, signed so that nobody can
  make the site display a message of their choosing.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets

from fastapi import Request, Response

from app.config import Settings
from app.errors import AppError

SESSION_COOKIE = "xiangcai_session"
CSRF_COOKIE = "xiangcai_csrf"
FLASH_COOKIE = "xiangcai_flash"
CSRF_FIELD = "csrf_token"
_MAX_FLASH_BYTES = 2000


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _mac(secret: str, purpose: str, value: str) -> str:
    digest = hmac.new(secret.encode(), f"{purpose}\n{value}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def _set_cookie(
    response: Response, request: Request, name: str, value: str, max_age: int | None
) -> None:
    response.set_cookie(
        name,
        value,
        max_age=max_age,
        path="/",
        httponly=True,
        samesite="lax",
        secure=_settings(request).cookie_secure,
    )


def _delete_cookie(response: Response, request: Request, name: str) -> None:
    response.delete_cookie(
        name, path="/", httponly=True, samesite="lax", secure=_settings(request).cookie_secure
    )


# --- session ------------------------------------------------------------------------------------


def session_token(request: Request) -> str | None:
    return request.cookies.get(SESSION_COOKIE) or None


def start_session(request: Request, response: Response, token: str) -> None:
    """Sign in: the session cookie, and a fresh CSRF token bound to it."""
    settings = _settings(request)
    _set_cookie(response, request, SESSION_COOKIE, token, settings.access_token_minutes * 60)
    _issue_csrf(request, response, session=token)


def end_session(request: Request, response: Response) -> None:
    _delete_cookie(response, request, SESSION_COOKIE)
    _issue_csrf(request, response, session="")


# --- CSRF ---------------------------------------------------------------------------------------


def _csrf_cookie_value(request: Request, token: str, session: str) -> str:
    return f"{token}.{_mac(_settings(request).secret_key, 'csrf:' + session, token)}"


def _token_from_cookie(request: Request) -> str | None:
    """The token in the CSRF cookie, if the cookie is ours and belongs to this session."""
    raw = request.cookies.get(CSRF_COOKIE, "")
    token, _, mac = raw.partition(".")
    if not token or not mac:
        return None
    expected = _mac(_settings(request).secret_key, "csrf:" + (session_token(request) or ""), token)
    return token if hmac.compare_digest(mac, expected) else None


def _issue_csrf(request: Request, response: Response, *, session: str) -> None:
    token = secrets.token_urlsafe(32)
    _set_cookie(response, request, CSRF_COOKIE, _csrf_cookie_value(request, token, session), None)
    request.state.csrf_token = token
    request.state.csrf_pending = False


def csrf_token(request: Request) -> str:
    """The token for the forms of this page; a new one when the cookie is missing or stale."""
    token: str | None = getattr(request.state, "csrf_token", None)
    if token is None:
        token = _token_from_cookie(request)
        if token is None:
            token = secrets.token_urlsafe(32)
            request.state.csrf_pending = True
        request.state.csrf_token = token
    return token


def write_csrf_cookie(request: Request, response: Response) -> None:
    """Store a token handed out by ``csrf_token`` that the browser does not have yet."""
    if getattr(request.state, "csrf_pending", False):
        value = _csrf_cookie_value(request, csrf_token(request), session_token(request) or "")
        _set_cookie(response, request, CSRF_COOKIE, value, None)
        request.state.csrf_pending = False


CSRF_FAILED = "页面已过期或请求来源无法验证，已拒绝提交。请返回上一页，刷新后重新提交。"


async def check_csrf(request: Request) -> None:
    """Dependency of every page rule: any POST must carry the token of this session."""
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return
    expected = _token_from_cookie(request)
    form = await request.form()
    sent = form.get(CSRF_FIELD)
    if expected is None or not isinstance(sent, str) or not hmac.compare_digest(sent, expected):
        raise AppError(403, "csrf_failed", CSRF_FAILED)


# --- flash messages -----------------------------------------------------------------------------


def flash(request: Request, response: Response, message: str, level: str = "success") -> None:
    """Queue a message for the next page this browser shows."""
    pending: list[list[str]] = getattr(request.state, "flash_out", [])
    pending.append([level, message])
    request.state.flash_out = pending
    payload = base64.urlsafe_b64encode(json.dumps(pending, ensure_ascii=False).encode()).decode()
    if len(payload) > _MAX_FLASH_BYTES:
        return
    mac = _mac(_settings(request).secret_key, "flash", payload)
    _set_cookie(response, request, FLASH_COOKIE, f"{payload}.{mac}", 300)


def take_flashes(request: Request) -> list[tuple[str, str]]:
    """The messages waiting for this page (the caller clears the cookie with ``clear_flashes``)."""
    raw = request.cookies.get(FLASH_COOKIE, "")
    payload, _, mac = raw.rpartition(".")
    if not payload or not hmac.compare_digest(
        mac, _mac(_settings(request).secret_key, "flash", payload)
    ):
        return []
    try:
        items = json.loads(base64.urlsafe_b64decode(payload.encode()))
        return [(str(lv), str(text)) for lv, text in items if lv in ("success", "error", "info")]
    except (TypeError, ValueError):
        return []


def clear_flashes(request: Request, response: Response) -> None:
    if FLASH_COOKIE in request.cookies:
        _delete_cookie(response, request, FLASH_COOKIE)
