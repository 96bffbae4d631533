from typing import Annotated

from fastapi import APIRouter, Form, Request, Response

from app.auth import service
from app.auth.actor import Actor
from app.auth.clients import client_address
from app.auth.policy import AdminActor, AnyActor, GuardedRoute, public
from app.auth.schemas import AccountCreate, AccountPublic, AccountUpdate, RegisterIn, Token
from app.auth.security import create_access_token
from app.common import IdPath, Page, PageQuery, PageSizeQuery, Role
from app.db import SessionDep
from app.errors import AppError, too_many

router = APIRouter(prefix="/api/v1", tags=["账号与登录"], route_class=GuardedRoute)
PublicActor = Annotated[Actor | None, public()]


@router.post("/auth/token", response_model=Token)
async def login(
    request: Request,
    session: SessionDep,
    _actor: PublicActor,
    username: Annotated[str, Form(max_length=64)],  # control characters: service.sign_in
    password: Annotated[str, Form(max_length=128)],
) -> Token:
    """登录（OAuth2 密码模式），返回访问令牌。"""
    outcome = await service.sign_in_request(request, session, username=username, password=password)
    if outcome.retry_after is not None:
        raise too_many(
            "too_many_attempts",
            f"登录失败次数过多，请 {outcome.retry_after} 秒后再试",
            retry_after=outcome.retry_after,
            field="username",
        )
    if outcome.account is None or outcome.account.id is None:
        raise AppError(
            401,
            "invalid_credentials",
            "用户名或密码错误",
            field="password",
            headers={"WWW-Authenticate": "Bearer"},
        )
    token = create_access_token(
        account_id=outcome.account.id,
        role=outcome.account.role,
        settings=request.app.state.settings,
        token_version=outcome.account.token_version,
    )
    return Token(access_token=token)


@router.post("/auth/logout", status_code=204, response_class=Response)
def logout(session: SessionDep, actor: AnyActor) -> Response:
    """退出登录：此前签发给本账号的所有令牌一律失效（所有设备同时退出）。"""
    service.logout(session, actor=actor)
    session.commit()
    return Response(status_code=204)


@router.post("/auth/register", response_model=AccountPublic, status_code=201)
def register(
    request: Request, session: SessionDep, _actor: PublicActor, data: RegisterIn
) -> AccountPublic:
    """人才自助注册账号。"""
    account = service.register_talent_limited(
        session, data=data, client=client_address(request), settings=request.app.state.settings
    )
    session.commit()
    return service.to_public(session, account)


@router.get("/auth/me", response_model=AccountPublic)
def me(session: SessionDep, actor: AnyActor) -> AccountPublic:
    """当前登录的账号。"""
    assert actor.id is not None
    return service.to_public(session, service.get_account(session, actor.id))


@router.get("/accounts", response_model=Page[AccountPublic])
def list_accounts(
    session: SessionDep,
    _actor: AdminActor,
    role: Role | None = None,
    county_code: str | None = None,
    page: PageQuery = 1,
    page_size: PageSizeQuery = 20,
) -> Page[AccountPublic]:
    """账号列表（管理员）。"""
    rows, total = service.list_accounts(
        session, role=role, county_code=county_code, page=page, page_size=page_size
    )
    items = [service.to_public(session, a) for a in rows]
    return Page(items=items, total=total, page=page, page_size=page_size)


@router.post("/accounts", response_model=AccountPublic, status_code=201)
def create_account(session: SessionDep, actor: AdminActor, data: AccountCreate) -> AccountPublic:
    """创建账号（管理员）。"""
    account = service.create_account(session, data=data, actor=actor)
    session.commit()
    return service.to_public(session, account)


@router.get("/accounts/{account_id}", response_model=AccountPublic)
def read_account(session: SessionDep, _actor: AdminActor, account_id: IdPath) -> AccountPublic:
    """查看账号（管理员）。"""
    return service.to_public(session, service.get_account(session, account_id))


@router.patch("/accounts/{account_id}", response_model=AccountPublic)
def update_account(
    session: SessionDep, actor: AdminActor, account_id: IdPath, data: AccountUpdate
) -> AccountPublic:
    """修改账号：角色、所属县、停用、重置密码（管理员）。"""
    account = service.get_account(session, account_id)
    account = service.update_account(session, account=account, data=data, actor=actor)
    session.commit()
    return service.to_public(session, account)
