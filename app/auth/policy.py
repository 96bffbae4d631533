"""Who may call what. Deny by default.

Every route states its rule with ``allow(...)`` or ``public()``. ``GuardedRoute`` (the route
class of every router in the service) looks for that rule in the route's dependencies when the
route is registered; a route without one answers 403 to everybody, whatever its code does.
Object-level rules (a county's own needs, a talent's own profile) live in the services.
"""

from collections.abc import Callable, Coroutine
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import OAuth2PasswordBearer
from sqlmodel import Session

from app.auth.actor import Actor
from app.auth.clients import client_address
from app.auth.models import Account
from app.auth.security import decode_access_token
from app.common import Role
from app.db import begin_read_only, get_session
from app.errors import AppError

RULE_ATTR = "__xiangcai_rule__"

oauth2_scheme = OAuth2PasswordBearer(tokenUrl="/api/v1/auth/token", auto_error=False)


def _unauthenticated() -> AppError:
    return AppError(401, "not_authenticated", "请先登录", headers={"WWW-Authenticate": "Bearer"})


def resolve_account(request: Request, session: Session, token: str | None) -> Account | None:
    if not token:
        return None
    claims = decode_access_token(token, request.app.state.settings)
    if claims is None:
        return None
    try:
        account_id = int(claims["sub"])
    except (TypeError, ValueError):
        return None
    begin_read_only(session)
    account = session.get(Account, account_id)
    # End the read transaction at once: the access check runs in one worker thread and the
    # endpoint in another, and a connection (on SQLite, the write lock) held across that hop
    # can deadlock a busy server whose workers all wait for connections.
    session.commit()
    if account is None or not account.active:
        return None
    # Sign-out and changes of password, role, county or activity bump the account's version.
    if claims.get("ver") != account.token_version:
        return None
    return account


def actor_of(account: Account, request: Request) -> Actor:
    assert account.id is not None
    return Actor(
        id=account.id,
        username=account.username,
        role=account.role,
        county_code=account.county_code,
        client=client_address(request),
    )


def allow(*roles: Role) -> Any:
    """Dependency: the signed-in actor, if their role is one of ``roles``; else 401/403."""
    allowed = frozenset(roles)

    def check(
        request: Request,
        session: Annotated[Session, Depends(get_session)],
        bearer: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> Actor:
        account = resolve_account(request, session, bearer)
        if account is None:
            raise _unauthenticated()
        if account.role not in allowed:
            raise AppError(403, "forbidden", "当前角色无权执行此操作")
        return actor_of(account, request)

    setattr(check, RULE_ATTR, ("roles", allowed))
    return Depends(check)


def public() -> Any:
    """Dependency for routes anyone may call; gives the actor if signed in, else None."""

    def check(
        request: Request,
        session: Annotated[Session, Depends(get_session)],
        bearer: Annotated[str | None, Depends(oauth2_scheme)],
    ) -> Actor | None:
        account = resolve_account(request, session, bearer)
        return actor_of(account, request) if account else None

    setattr(check, RULE_ATTR, ("public", frozenset()))
    return Depends(check)


def find_rule(dependant: Dependant) -> tuple[str, frozenset[Role]] | None:
    stack = [dependant]
    while stack:
        dep = stack.pop()
        rule = getattr(dep.call, RULE_ATTR, None)
        if rule is not None:
            return rule  # type: ignore[no-any-return]
        stack.extend(dep.dependencies)
    return None


# The API takes bearer tokens only. The web pages (app/web) resolve their HttpOnly cookie with
# the same ``resolve_account`` and call the same services, and check CSRF on their forms.


class GuardedRoute(APIRoute):
    """An APIRoute that refuses every request unless the route declared an access rule."""

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        if find_rule(self.dependant) is not None:
            return super().get_route_handler()

        async def refuse(_request: Request) -> Response:
            raise AppError(403, "forbidden", "该接口未配置访问规则，已拒绝")

        return refuse


AdminActor = Annotated[Actor, allow(Role.admin)]
AnyActor = Annotated[Actor, allow(Role.admin, Role.province, Role.county, Role.talent)]
# Who acts for a county: its officers, and administrators.
CountyActor = Annotated[Actor, allow(Role.admin, Role.county)]
