"""Accounts, sign-in and sign-out, and the limits on sign-in and registration.

Transaction rules: no transaction is open while a password is hashed or checked (argon2 takes
about 0.1 s and 64 MiB). Account writes hash first, before their first statement; a sign-in
runs as two short transactions (count the attempt and read the account; record the outcome)
with the check between them, off the event loop in a small pool of its own. The limit
counters (``app.auth.throttle``) commit on their own, since a rollback must not undo them.

A process runs its sign-ins' transactions one at a time, the addresses in turn
(``SIGN_IN_THREADS``, ``app.turns``). Each is short, but each writes, and a burst of failed
sign-ins from one address once sent all of them at the database's one write lock at once
(SQLite), ahead of everybody's edits: other users' p95 rose to 16–20 × one client's p50 in
bench/bench_load.py's burst, 6–12 × since. The burst now queues on the event loop, holding no
thread, and a sign-in from another address waits for the transaction running and at most one
more of each address waiting.
"""

from dataclasses import dataclass
from datetime import timedelta
from typing import Any

from fastapi import Request
from sqlalchemy import update
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth import throttle
from app.auth.actor import Actor
from app.auth.clients import address_group, client_address
from app.auth.models import Account
from app.auth.passwords import password_problem
from app.auth.schemas import AccountCreate, AccountPublic, AccountUpdate, RegisterIn
from app.auth.security import dummy_hash, hash_password, off_the_loop, verify_password
from app.common import Role, has_bad_chars
from app.config import Settings
from app.counties.models import County
from app.db import begin_read_only, get_or_404, page_of, utcnow
from app.errors import AppError, too_many
from app.profiles.models import Profile
from app.turns import turns

# What the audit trail keeps of an account (never the password hash).
AUDITED = ("username", "role", "county_code", "display_name", "active")


def snapshot(account: Account) -> dict[str, Any]:
    return audit.fields_of(account, AUDITED)


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


def ensure_username_free(session: Session, username: str) -> None:
    if session.exec(select(Account.id).where(Account.username == username)).first() is not None:
        raise AppError(409, "username_taken", "该用户名已被使用", field="username")


def create_account(
    session: Session, *, data: AccountCreate, actor: Actor, password_hash: str | None = None
) -> Account:
    """A new account; ``password_hash`` when the caller hashed ``data.password`` already (before
    its transaction began: see the module notes)."""
    if password_hash is None:
        password_hash = hash_password(data.password)  # before any statement
    ensure_username_free(session, data.username)
    county_code = _check_role_county(session, data.role, data.county_code)
    account = Account(
        username=data.username,
        password_hash=password_hash,
        role=data.role,
        county_code=county_code,
        display_name=data.display_name or data.username,
    )
    audit.record_saved(
        session,
        actor=actor,
        action="account.create",
        entity="account",
        row=account,
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
    changes = data.model_dump(exclude_unset=True)
    password_hash = None
    if "password" in changes:
        problem = password_problem(changes["password"], username=account.username)
        if problem:
            raise AppError(422, "validation_error", problem, field="password")
        password_hash = hash_password(changes["password"])
    before = snapshot(account)
    access_before = (account.role, account.county_code, account.active)
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
    if password_hash is not None:
        account.password_hash = password_hash
    if password_hash is not None or access_before != (
        account.role,
        account.county_code,
        account.active,
    ):
        _revoke_tokens(account)
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


def _revoke_tokens(account: Account) -> None:
    # Computed by the database, so that two changes at once cannot both write the same number
    # (and leave a token issued between them valid).
    account.token_version = Account.token_version + 1


def logout(session: Session, *, actor: Actor) -> None:
    """Sign out: every token of the account issued so far stops working.

    This signs the account out everywhere (other browsers and API clients too). That is the
    simple, storage-free choice: a token carries its account's version, and a list of revoked
    tokens would have to be kept and expired per token instead.
    """
    if actor.id is None:
        return
    # One UPDATE, so that the transaction writes first and never upgrades a read.
    session.execute(
        update(Account)
        .where(col(Account.id) == actor.id)
        .values(token_version=col(Account.token_version) + 1)
    )
    audit.record(session, actor=actor, action="auth.logout", entity="account", entity_id=actor.id)


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


# --- registration limit ------------------------------------------------------------------------


def _registration_limit(client: str, settings: Settings) -> throttle.Limit:
    return throttle.Limit(
        f"register-address:{address_group(client)}",
        settings.register_address_max,
        timedelta(seconds=settings.register_address_window_seconds),
    )


def register_talent_limited(
    session: Session, *, data: RegisterIn, client: str, settings: Settings
) -> Account:
    """``register_talent``, counted against the registrations of the client's address.

    Commits the count at once (429 when the address is over its limit); a registration that is
    refused afterwards (name taken, bad county) is given back.
    """
    limit = _registration_limit(client, settings)
    reservation = throttle.reserve(session, [limit])
    if reservation.retry_after is not None:
        raise too_many(
            "too_many_registrations",
            f"该网络地址注册账号过于频繁，请 {reservation.retry_after} 秒后再试",
            retry_after=reservation.retry_after,
            field="username",
        )
    try:
        return register_talent(session, data=data, client=client)
    except Exception:
        session.rollback()
        throttle.give_back(session, reservation, [limit.key])
        session.commit()
        raise


# --- sign-in -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class LoginOutcome:
    account: Account | None
    retry_after: int | None = None


@dataclass(frozen=True)
class _Attempt:
    """A sign-in between its two transactions."""

    username: str
    client: str
    account: Account | None
    reservation: throttle.Reservation


def _pair_key(username: str, client: str) -> str:
    return f"login:{address_group(client)}:{username}"


def _account_key(username: str) -> str:
    return f"login-account:{username}"


def _address_key(client: str) -> str:
    return f"login-address:{address_group(client)}"


BAD_USERNAME = "用户名包含不允许的控制字符或不可见字符（如从右到左覆盖符、零宽字符）"


def _login_limits(username: str, client: str, settings: Settings) -> list[throttle.Limit]:
    window = timedelta(seconds=settings.login_window_seconds)
    return [
        throttle.Limit(
            _pair_key(username, client), settings.login_max_failures, window, "account_address"
        ),
        throttle.Limit(
            _account_key(username), settings.login_account_max_failures, window, "account"
        ),
        throttle.Limit(
            _address_key(client),
            settings.login_address_max_failures,
            timedelta(seconds=settings.login_address_window_seconds),
            "address",
        ),
    ]


def _start(session: Session, *, username: str, client: str, settings: Settings) -> _Attempt:
    """Count the attempt against every limit, then read the account; two short transactions.

    A refusal is counted per full limit and window, and only the 1st, 2nd, 4th, 8th … are
    written to the audit trail, with the count so far: refusals are answered without any
    password check, so an attacker with no account could otherwise append to the trail as
    fast as the service answers (25–40 events a second in the load bench, millions a day).
    """
    username = username.strip().lower()[:64]
    reservation = throttle.reserve(session, _login_limits(username, client, settings))
    if reservation.full is not None:
        if throttle.worth_recording(reservation.refused):
            actor = Actor(id=None, username=username or "(空)", role="anonymous", client=client)
            audit.record(
                session,
                actor=actor,
                action="auth.login_throttled",
                entity="account",
                context={
                    "client": client,
                    "limit": reservation.full.kind,
                    "refused": reservation.refused,
                },
            )
            session.commit()
        return _Attempt(username, client, None, reservation)
    begin_read_only(session)
    account = session.exec(select(Account).where(Account.username == username)).first()
    session.commit()
    return _Attempt(username, client, account, reservation)


def _finish(session: Session, attempt: _Attempt, *, password_ok: bool) -> LoginOutcome:
    """Record the outcome in one short transaction: a success clears the counters it used."""
    account, client = attempt.account, attempt.client
    if password_ok and account is not None and account.active:
        throttle.reset(session, _pair_key(attempt.username, client))
        keys = [_account_key(attempt.username), _address_key(client)]
        throttle.give_back(session, attempt.reservation, keys)
        audit.record(
            session,
            actor=Actor(id=account.id, username=account.username, role=account.role, client=client),
            action="auth.login",
            entity="account",
            entity_id=account.id,
            context={"client": client},
        )
        session.commit()
        return LoginOutcome(account)
    actor = Actor(id=None, username=attempt.username or "(空)", role="anonymous", client=client)
    audit.record(
        session,
        actor=actor,
        action="auth.login_failed",
        entity="account",
        entity_id=account.id if account else None,
        context={"client": client},
    )
    session.commit()
    return LoginOutcome(None)


def _hash_to_check(attempt: _Attempt) -> str:
    # An unknown name is checked against a real hash too: the answer takes as long, so names
    # cannot be told apart by timing.
    return attempt.account.password_hash if attempt.account is not None else dummy_hash()


# One thread per process: the transactions are a few milliseconds each and on SQLite they
# write one at a time anyway (two threads measured the same in the burst); argon2, not this,
# bounds how many sign-ins a process can take.
SIGN_IN_THREADS = 1


async def sign_in(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> LoginOutcome:
    """Check a password under the sign-in limits; records the attempt and its audit event.

    Limits, all counted before the check so that concurrent attempts cannot slip past them:
    failures per account and client address (a success resets it), per account from anywhere
    and per address over all accounts (a success is given back to both). Commits itself.
    Call from the event loop: the transactions run in the sign-in thread, the check in the
    password pool, and a waiting sign-in holds no thread.
    """
    # No account name holds a control character, and PostgreSQL refuses NUL in any text: the
    # limits below are counted under the name before any account is read.
    if has_bad_chars(username):
        raise AppError(422, "validation_error", BAD_USERNAME, field="username")
    group = address_group(client)
    bookkeeping = turns("sign-in", SIGN_IN_THREADS)
    attempt = await bookkeeping.run(
        group, lambda: _start(session, username=username, client=client, settings=settings)
    )
    if attempt.reservation.retry_after is not None:
        return LoginOutcome(None, retry_after=attempt.reservation.retry_after)
    ok = await off_the_loop(
        settings, verify_password, password, _hash_to_check(attempt), client=group
    )
    return await bookkeeping.run(group, lambda: _finish(session, attempt, password_ok=ok))


async def sign_in_request(
    request: Request, session: Session, *, username: str, password: str
) -> LoginOutcome:
    """``sign_in`` for a request: the client address it came from and the app's settings."""
    return await sign_in(
        session,
        username=username,
        password=password,
        client=client_address(request),
        settings=request.app.state.settings,
    )


def authenticate(
    session: Session, *, username: str, password: str, client: str, settings: Settings
) -> LoginOutcome:
    """``sign_in`` for code that runs in a worker thread already. Commits itself."""
    attempt = _start(session, username=username, client=client, settings=settings)
    if attempt.reservation.retry_after is not None:
        return LoginOutcome(None, retry_after=attempt.reservation.retry_after)
    ok = verify_password(password, _hash_to_check(attempt))
    return _finish(session, attempt, password_ok=ok)
