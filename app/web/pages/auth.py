"""Home, sign in, talent registration, claiming a profile with an invitation code, sign out."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import RedirectResponse
from starlette.datastructures import FormData

from app.auth import service as accounts
from app.auth.clients import client_address
from app.auth.models import Account
from app.auth.schemas import RegisterIn
from app.auth.security import create_access_token
from app.common import has_bad_chars
from app.config import Settings
from app.db import SessionDep
from app.errors import AppError
from app.invitations import service as invitations
from app.invitations.schemas import ClaimIn
from app.web.deps import MaybeViewer, PageRoute
from app.web.forms import Form, non_empty, read_form, save
from app.web.session import end_session, start_session
from app.web.templating import HOME, redirect, render

router = APIRouter(route_class=PageRoute, include_in_schema=False)
FormDep = Annotated[FormData, Depends(read_form)]


def safe_next(value: str | None) -> str | None:
    """A local path to return to after sign-in; anything else (other sites) is ignored."""
    if not value or not value.startswith("/") or value.startswith(("//", "/\\")):
        return None
    return value


def _signed_in(
    request: Request, account: Account, target: str | None, message: str | None = None
) -> Response:
    settings: Settings = request.app.state.settings
    assert account.id is not None
    token = create_access_token(
        account_id=account.id,
        role=account.role,
        settings=settings,
        token_version=account.token_version,
    )
    message = message or f"欢迎，{account.display_name or account.username}"
    response = redirect(request, target or HOME[account.role], message)
    start_session(request, response, token)
    return response


@router.get("/")
def home(request: Request, viewer: MaybeViewer) -> Response:
    """首页：已登录时转到本角色的工作页。"""
    if viewer is not None:
        return RedirectResponse(HOME[viewer.role], status_code=303)
    return render(request, "home.html", {"title": "首页"})


@router.get("/login")
def login_form(request: Request, viewer: MaybeViewer) -> Response:
    """登录页。"""
    target = safe_next(request.query_params.get("next"))
    if viewer is not None:
        return RedirectResponse(target or HOME[viewer.role], status_code=303)
    return render(request, "auth/login.html", {"title": "登录", "form": Form(), "next": target})


@router.post("/login")
async def login(
    request: Request, session: SessionDep, _viewer: MaybeViewer, data: FormDep
) -> Response:
    """登录：经由统一的认证服务（失败限流、审计留痕）。"""
    form = Form.read(data)
    target = safe_next(form.get("next"))
    username, password = form.get("username").strip(), form.get("password")
    if not username:
        form.add("username", "请输入用户名")
    elif len(username) > 64:
        form.add("username", "用户名不能超过 64 个字符")
    elif has_bad_chars(username):
        form.add("username", accounts.BAD_USERNAME)
    if not password:
        form.add("password", "请输入密码")
    elif len(password) > 128:
        form.add("password", "密码不能超过 128 位")
    context = {"title": "登录", "form": form, "next": target}
    if not form.ok:
        return render(request, "auth/login.html", context, status_code=422)
    outcome = await accounts.sign_in_request(request, session, username=username, password=password)
    if outcome.retry_after is not None:
        form.general.append(f"登录失败次数过多，请 {outcome.retry_after} 秒后再试")
        response = render(request, "auth/login.html", context, status_code=429)
        response.headers["Retry-After"] = str(outcome.retry_after)
        return response
    if outcome.account is None:
        form.general.append("用户名或密码错误，或账号已停用")
        return render(request, "auth/login.html", context, status_code=401)
    return _signed_in(request, outcome.account, target)


@router.get("/register")
def register_form(request: Request, viewer: MaybeViewer) -> Response:
    """人才自助注册页。"""
    if viewer is not None:
        return RedirectResponse(HOME[viewer.role], status_code=303)
    return render(request, "auth/register.html", {"title": "人才注册", "form": Form()})


@router.post("/register")
def register(
    request: Request, session: SessionDep, _viewer: MaybeViewer, data: FormDep
) -> Response:
    """人才注册：建账号后直接登录，转去填写档案。"""
    form = Form.read(data)
    context = {"title": "人才注册", "form": form}
    values = non_empty(form.values, ("username", "password", "display_name"))
    register_in = form.validate(RegisterIn, values)
    if form.get("password") and form.get("password2") != form.get("password"):
        form.add("password2", "两次输入的密码不一致")
    if register_in is None or not form.ok:
        return render(request, "auth/register.html", context, status_code=422)
    client = client_address(request)
    if (
        save(
            session,
            form,
            lambda: accounts.register_talent_limited(
                session, data=register_in, client=client, settings=request.app.state.settings
            ),
        )
        is None
    ):
        return render(request, "auth/register.html", context, status_code=form.status_code)
    outcome = accounts.authenticate(
        session,
        username=register_in.username,
        password=register_in.password,
        client=client,
        settings=request.app.state.settings,
    )
    if outcome.account is None:
        return redirect(request, "/login", "注册成功，请登录", "info")
    return _signed_in(request, outcome.account, "/me/profile/edit", "注册成功，请填写您的人才档案")


CLAIM_LABELS = {"code": "邀请码"}


def _claim_page(request: Request, form: Form, status_code: int = 200) -> Response:
    return render(
        request, "auth/claim.html", {"title": "凭邀请码注册", "form": form}, status_code=status_code
    )


@router.get("/claim")
def claim_form(request: Request, viewer: MaybeViewer) -> Response:
    """凭邀请码认领人才档案：县局邀请的人才在此设置用户名和密码。"""
    if viewer is not None:
        return RedirectResponse(HOME[viewer.role], status_code=303)
    code = (request.query_params.get("code") or "").strip()[:32]
    return _claim_page(request, Form(values={"code": code}))


@router.post("/claim")
def claim(request: Request, session: SessionDep, _viewer: MaybeViewer, data: FormDep) -> Response:
    """认领档案：建立人才账号、绑定档案，登录后转到工作台。"""
    form = Form.read(data, labels=CLAIM_LABELS)
    values = non_empty(form.values, ("code", "username", "password", "display_name"))
    claim_in = form.validate(ClaimIn, values)
    if form.get("password") and form.get("password2") != form.get("password"):
        form.add("password2", "两次输入的密码不一致")
    if claim_in is None or not form.ok:
        return _claim_page(request, form, 422)
    client = client_address(request)
    try:
        account = invitations.claim(session, data=claim_in, client=client)
    except AppError as exc:
        session.rollback()
        form.add_app_error(exc)
        response = _claim_page(request, form, exc.status_code)
        response.headers.update(exc.headers or {})  # Retry-After when throttled
        return response
    session.commit()
    return _signed_in(request, account, HOME["talent"], "注册成功，您的人才档案已归入本账号")


@router.post("/logout")
def logout(request: Request, session: SessionDep, viewer: MaybeViewer) -> Response:
    """退出登录：与 API 的退出相同，本账号此前的所有登录一律失效。"""
    if viewer is not None:
        accounts.logout(session, actor=viewer.actor)
        session.commit()
    response = redirect(request, "/login", "您已退出登录", "info")
    end_session(request, response)
    return response
