"""Accounts, sign-in and its throttle."""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.auth.models import Account, LoginAttempt
from app.auth.schemas import AccountCreate, AccountPublic, AccountUpdate, RegisterIn
from app.auth.security import dummy_hash, hash_password, verify_password
from app.common import Role
from app.config import Settings
from app.counties.models import County
from app.db import get_or_404, page_of, utcnow
from app.errors import AppError
from app.profiles.models import Profile


def snapshot(account: Account) -> dict[str, Any]:
    """What the audit trail keeps of an account (never the password hash)."""
    return {
        "username": account.username,
        "role": account.role,
        "county_code": account.county_code,
        "display_name": account.display_name,
        "active": account.active,
    }


def to_public(session: Session, account: Account) -> AccountPublic:
    profile_id = session.exec(select(Profile.id).where(Profile.owner_id == account.id)).first()
    return AccountPublic.model_validate({**account.model_dump(), "profile_id": profile_id})


def _check_role_county(session: Session, role: str, county_code: str | None) -> str | None:
    if role == Role.county:
        if not county_code:
            raise AppError(
                422, "validation_error", "县局账号必须指定所属县（市、区）", field="county_code"
            )
        if session.get(County, county_code) is None:
            raise AppError(
                422, "unknown_county", f"未知的县（市、区）代码：{county_code}", field="county_code"
            )
        return county_code
    if county_code:
        raise AppError(422, "validation_error", "只有县局账号可以指定所属县", field="county_code")
    return None


def _ensure_username_free(session: Session, username: str) -> None:
    if session.exec(select(Account.id).where(Account.username == username)).first() is not None:
        raise AppError(409, "username_taken", "该用户名已被使用", field="username")


def create_account(session: Session, *, data: AccountCreate, actor: Actor) -> Account:
    _ensure_username_free(session, data.username)
    county_code = _check_role_county(session, data.role, data.county_code)
    account = Account(
        username=data.username,
        password_hash=hash_password(data.password),
        role=data.role,
        county_code=county_code,
        display_name=data.display_name or data.username,
    )
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.create",
        entity="account",
        entity_id=account.id,
        after=snapshot(account),
    )
    return account


def register_talent(session: Session, *, data: RegisterIn, client: str) -> Account:
    account_in = AccountCreate(
        username=data.username,
        password=data.password,
        role=Role.talent,
        display_name=data.display_name,
    )
    actor = Actor(id=None, username=data.username, role="anonymous", client=client)
    return create_account(session, data=account_in, actor=actor)


def update_account(
    session: Session, *, account: Account, data: AccountUpdate, actor: Actor
) -> Account:
    before = snapshot(account)
    changes = data.model_dump(exclude_unset=True)
    role = changes.get("role", account.role)
    county = changes.get("county_code", account.county_code if "role" not in changes else None)
    if "role" in changes or "county_code" in changes:
        account.county_code = _check_role_county(session, role, county)
        account.role = role
    if "display_name" in changes:
        account.display_name = changes["display_name"]
    if "active" in changes:
        if account.id == actor.id and not changes["active"]:
            raise AppError(409, "cannot_deactivate_self", "不能停用自己的账号", field="active")
        account.active = changes["active"]
    if "password" in changes:
        account.password_hash = hash_password(changes["password"])
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    after = snapshot(account)
    context = {"password_changed": True} if "password" in changes else None
    audit.record(
        session,
        actor=actor,
        action="account.update",
        entity="account",
        entity_id=account.id,
        before=before,
        after=after,
        context=context,
    )
    return account


def get_account(session: Session, account_id: int) -> Account:
    return get_or_404(session, Account, account_id, "账号")


def list_accounts(
    session: Session, *, role: str | None, county_code: str | None, page: int, page_size: int
) -> tuple[list[Account], int]:
    conditions: list[Any] = []
    if role:
        conditions.append(Account.role == role)
    if county_code:
        conditions.append(Account.county_code == county_code)
    return page_of(session, Account, conditions, [col(Account.id)], page, page_size)


# --- sign-in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    account: Account | None
    retry_after: int | None = None


def _recent_failures(
    session: Session, username: str, client: str, settings: Settings
) -> list[LoginAttempt]:
    since = utcnow() - timedelta(seconds=settings.login_window_seconds)
    last_success = session.exec(
        select(func.max(LoginAttempt.created_at)).where(
            LoginAttempt.username == username,
            LoginAttempt.client == client,
            col(LoginAttempt.succeeded).is_(True),
        )
    ).one()
    if last_success is not None and last_success.tzinfo is None:
        last_success = last_success.replace(tzinfo=since.tzinfo)
    floor = max(since, last_success) if last_success else since
    return list(
        session.exec(
            select(LoginAttempt)
            .where(
                LoginAttempt.username == username,
                LoginAttempt.client == client,
                col(LoginAttempt.succeeded).is_(False),
                LoginAttempt.created_at > floor,
            )
            .order_by(col(LoginAttempt.created_at))
        ).all()
    )


def authenticate(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> LoginOutcome:
    """Check a password, throttling per (username, client); records the attempt and its event.

    The caller commits whatever the outcome, so that failures are remembered.
    """
    username = username.strip().lower()[:64]
    failures = _recent_failures(session, username, client, settings)
    actor = Actor(id=None, username=username or "(空)", role="anonymous", client=client)
    if len(failures) >= settings.login_max_failures:
        oldest = failures[-settings.login_max_failures].created_at
        retry = (
            int(
                (
                    oldest + timedelta(seconds=settings.login_window_seconds) - utcnow()
                ).total_seconds()
            )
            + 1
        )
        audit.record(
            session,
            actor=actor,
            action="auth.login_throttled",
            entity="account",
            context={"client": client},
        )
        return LoginOutcome(None, retry_after=max(retry, 1))

    account = session.exec(select(Account).where(Account.username == username)).first()
    if account is None:
        verify_password(password, dummy_hash())
        ok = False
    else:
        ok = verify_password(password, account.password_hash) and account.active
    session.add(LoginAttempt(username=username, client=client, succeeded=ok))
    if ok and account is not None:
        audit.record(
            session,
            actor=Actor(id=account.id, username=account.username, role=account.role, client=client),
            action="auth.login",
            entity="account",
            entity_id=account.id,
            context={"client": client},
        )
        return LoginOutcome(account)
    audit.record(
        session,
        actor=actor,
        action="auth.login_failed",
        entity="account",
        entity_id=account.id if account else None,
        context={"client": client},
    )
    return LoginOutcome(None)
