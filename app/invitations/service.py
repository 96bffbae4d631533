"""Invitations: a county officer or an administrator invites a person who has a profile but no
account (most came in by bulk import) to claim it, so that they can answer proposals online.

Who may invite: an administrator, and any county officer, for any active profile without an
owner. A county may propose anyone in the province for its needs, so it may invite anyone it
could propose; keeping to "people of my county" would lock out the experts counties look for.

The life of an invitation (``state_of``; nothing is written when it expires)::

    open ──claim──────────────────────────────▶ claimed
      ├──a newer invitation for the profile───▶ revoked
      └──expires_at passes────────────────────▶ expired

Codes: ``CODE_LENGTH`` characters of Crockford's base 32 (50 bits), shown once to the inviter
and queued to the person's phone and e-mail; the table keeps only their SHA-256. A claim is
counted against the client's address before its code is looked up (``app.auth.throttle``, as
registration is), and given back when the code was right: guessing gets ``CLAIM_MAX_FAILURES``
tries per window and address against 2^50 codes.

Transactions and locks: an invitation is issued under the profile's row lock, and a claim takes
the same lock first, then writes the invitation (``FOR UPDATE`` on PostgreSQL; SQLite's
``BEGIN IMMEDIATE`` serialises writers anyway): one order, no crosswise waits. A claim checks
the code in a read-only transaction, hashes the password with no transaction open (argon2,
0.1 s), then re-checks in one short write transaction and marks the invitation claimed with a
conditional UPDATE: of two claims of one code, the second finds it claimed and creates nothing.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, exists, update
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth import service as accounts
from app.auth import throttle
from app.auth.actor import Actor
from app.auth.clients import address_group
from app.auth.models import Account
from app.auth.schemas import AccountCreate
from app.auth.security import hash_password
from app.common import Role
from app.db import BEIJING, begin_read_only, utcnow
from app.errors import AppError, conflict, forbidden, not_found, too_many
from app.invitations.models import Invitation
from app.invitations.schemas import ClaimIn, TalentState
from app.notifications import service as notifications
from app.outbox import service as outbox
from app.profiles.models import Profile

CODE_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"  # Crockford's base 32: no I, L, O, U
CODE_LENGTH = 10
VALID_FOR = timedelta(days=7)
CLAIM_PAGE = "/claim"
# Wrong codes per client address and window. A village office behind one NAT address may have
# a few people mistyping at once; 2^50 codes make ten tries a quarter-hour harmless.
CLAIM_MAX_FAILURES = 10
CLAIM_WINDOW = timedelta(minutes=15)


# --- codes --------------------------------------------------------------------------------------


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def hash_code(code: str) -> str:
    """The stored form of a code as typed (``schemas.InvitationCode`` normalises it first)."""
    return hashlib.sha256(code.encode()).hexdigest()


def shown(code: str) -> str:
    """The code as people read it: two groups of five."""
    return f"{code[:5]}-{code[5:]}"


# --- states -------------------------------------------------------------------------------------


def state_of(invitation: Invitation, now: datetime) -> str:
    if invitation.claimed_at is not None:
        return "claimed"
    if invitation.revoked_at is not None:
        return "revoked"
    if invitation.expires_at <= now:
        return "expired"
    return "open"


# Why a code that exists cannot be used, by state. Unknown codes get ``_unknown_code``.
REFUSALS: dict[str, tuple[int, str, str]] = {
    "claimed": (410, "code_used", "该邀请码已被使用。如已注册，请直接登录"),
    "revoked": (
        410,
        "code_revoked",
        "该邀请码已作废（县局已重新发出邀请），请使用最新收到的邀请码",
    ),
    "expired": (410, "code_expired", "该邀请码已过期，请联系县局重新邀请"),
}


def _refusal(state: str) -> AppError:
    status, code, message = REFUSALS[state]
    return AppError(status, code, message, field="code")


def _unknown_code() -> AppError:
    return AppError(400, "invalid_code", "邀请码不正确，请核对短信或邮件中的邀请码", field="code")


def _open_condition(now: datetime) -> ColumnElement[bool]:
    return and_(
        col(Invitation.claimed_at).is_(None),
        col(Invitation.revoked_at).is_(None),
        col(Invitation.expires_at) > now,
    )


def talent_states(session: Session, profile_ids: Iterable[int]) -> dict[int, TalentState]:
    """For each profile: registered (has an owner), invited (an open invitation) or offline.

    One query for any number of profiles (match lists, placement lists)."""
    ids = sorted(set(profile_ids))
    if not ids:
        return {}
    invited = (
        exists()
        .where(col(Invitation.profile_id) == col(Profile.id))
        .where(_open_condition(utcnow()))
    )
    rows = session.execute(
        select(col(Profile.id), col(Profile.owner_id), invited.label("invited")).where(
            col(Profile.id).in_(ids)
        )
    ).all()
    return {
        int(pid): TalentState.registered
        if owner_id is not None
        else (TalentState.invited if is_invited else TalentState.offline)
        for pid, owner_id, is_invited in rows
    }


def state_counts(
    session: Session, *, created_from: datetime | None, created_before: datetime | None
) -> dict[str, int]:
    """Invitations sent in [created_from, created_before) by their state now (all four keys)."""
    query = select(Invitation)
    if created_from is not None:
        query = query.where(col(Invitation.created_at) >= created_from)
    if created_before is not None:
        query = query.where(col(Invitation.created_at) < created_before)
    now = utcnow()
    found = dict.fromkeys(("open", "claimed", "revoked", "expired"), 0)
    for invitation in session.exec(query).all():
        found[state_of(invitation, now)] += 1
    return found


# --- inviting -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Issued:
    invitation: Invitation
    code: str  # as shown (grouped); only here, never stored
    sent_to: list[str]


def _message(profile: Profile, code: str, expires_at: datetime, public_url: str) -> tuple[str, str]:
    page = public_url.rstrip("/") + CLAIM_PAGE
    subject = "乡才通邀请您认领人才档案"
    body = (
        f"{profile.name}您好：县（市、区）科技或人社部门在乡才通上为您建有人才档案，"
        f"邀请您注册账号，以便在线查看和答复服务需求。邀请码：{shown(code)}，"
        f"{expires_at.astimezone(BEIJING):%Y-%m-%d %H:%M}前有效，仅可使用一次。"
        f"请打开 {page} ，输入邀请码并设置用户名和密码。"
    )
    return subject, body


def invite(session: Session, *, profile_id: int, actor: Actor, public_url: str) -> Issued:
    """A new invitation for the profile (revoking its open one) and its messages; flushed."""
    if not actor.is_role(Role.admin, Role.county):
        raise forbidden("只有县局和管理员可以邀请人才注册")
    profile = session.get(Profile, profile_id, with_for_update=True, populate_existing=True)
    if profile is None:
        raise not_found("人才档案", field="profile_id")
    if profile.owner_id is not None:
        raise conflict(
            "already_registered", "该人才已注册账号，可直接在线推荐，无需邀请", field="profile_id"
        )
    if not profile.active:
        raise conflict("profile_inactive", "该人才档案已停用，不能邀请", field="profile_id")
    now = utcnow()
    revoked = session.exec(
        select(Invitation.id).where(Invitation.profile_id == profile_id).where(_open_condition(now))
    ).all()
    if revoked:
        session.execute(
            update(Invitation).where(col(Invitation.id).in_(revoked)).values(revoked_at=now)
        )
    code = new_code()
    invitation = Invitation(
        profile_id=profile_id,
        code_hash=hash_code(code),
        created_by_id=actor.id,
        created_at=now,
        expires_at=now + VALID_FOR,
    )
    session.add(invitation)
    session.flush()
    assert invitation.id is not None
    subject, body = _message(profile, code, invitation.expires_at, public_url)
    channels = (("sms", profile.contact_phone), ("email", profile.contact_email))
    sent_to = []
    for channel, address in channels:
        if address:
            outbox.queue(
                session,
                channel=channel,
                address=address,
                subject=subject,
                body=body,
                delivery_key=f"invitation-{invitation.id}-{channel}",
                link=CLAIM_PAGE,
            )
            sent_to.append(channel)
    audit.record(
        session,
        actor=actor,
        action="invitation.create",
        entity="invitation",
        entity_id=invitation.id,
        # Never the code: the trail is read by auditors, and the code is a password until used.
        after={
            "profile_id": profile_id,
            "expires_at": invitation.expires_at.isoformat(),
            "sent_to": sent_to,
        },
        context={"revoked": list(revoked)} if revoked else None,
    )
    session.flush()
    return Issued(invitation, shown(code), sent_to)


# --- claiming -----------------------------------------------------------------------------------


def _claim_limit(client: str) -> throttle.Limit:
    return throttle.Limit(
        f"claim-address:{address_group(client)}", CLAIM_MAX_FAILURES, CLAIM_WINDOW
    )


def _usable(session: Session, code: str, now: datetime) -> Invitation:
    invitation = session.exec(
        select(Invitation).where(Invitation.code_hash == hash_code(code))
    ).first()
    if invitation is None:
        raise _unknown_code()
    state = state_of(invitation, now)
    if state != "open":
        raise _refusal(state)
    return invitation


def _check(session: Session, data: ClaimIn) -> None:
    """The code and the name, in a read-only transaction, before the password is hashed."""
    begin_read_only(session)
    try:
        invitation = _usable(session, data.code, utcnow())
        profile = session.get(Profile, invitation.profile_id)
        if profile is None or profile.owner_id is not None:
            raise conflict("already_registered", "该人才档案已有账号，请直接登录", field="code")
        accounts.ensure_username_free(session, data.username)
    finally:
        session.commit()


def _claim(session: Session, *, data: ClaimIn, password_hash: str, client: str) -> Account:
    """The write transaction of a claim (the caller commits)."""
    now = utcnow()
    invitation = _usable(session, data.code, now)
    assert invitation.id is not None
    profile = session.get(
        Profile, invitation.profile_id, with_for_update=True, populate_existing=True
    )
    if profile is None or profile.owner_id is not None:
        raise conflict("already_registered", "该人才档案已有账号，请直接登录", field="code")
    # The guard against a second claim of the same code: only one transaction finds it open.
    taken = session.execute(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id)
        .where(_open_condition(now))
        .values(claimed_at=now)
    )
    if taken.rowcount != 1:  # type: ignore[attr-defined]
        session.refresh(invitation)
        raise _refusal(state_of(invitation, now))
    actor = Actor(id=None, username=data.username, role="anonymous", client=client)
    account = accounts.create_account(
        session,
        data=AccountCreate(
            username=data.username,
            password=data.password,
            role=Role.talent,
            display_name=data.display_name or profile.name,
        ),
        actor=actor,
        password_hash=password_hash,
    )
    assert account.id is not None
    session.execute(
        update(Invitation)
        .where(col(Invitation.id) == invitation.id)
        .values(claimed_by_id=account.id)
    )
    profile.owner_id = account.id
    profile.updated_at = now
    session.add(profile)
    session.flush()
    as_account = Actor(id=account.id, username=account.username, role=account.role, client=client)
    audit.record_many(
        session,
        actor=as_account,
        events=[
            audit.PendingEvent(
                "invitation.claim",
                "invitation",
                invitation.id,
                after={"profile_id": profile.id, "claimed_by_id": account.id},
            ),
            audit.PendingEvent(
                "profile.update",
                "profile",
                profile.id,
                before={"owner_id": None},
                after={"owner_id": account.id},
                context={"invitation_id": invitation.id},
            ),
        ],
    )
    _tell_inviter(session, invitation, profile)
    return account


def _tell_inviter(session: Session, invitation: Invitation, profile: Profile) -> None:
    if invitation.created_by_id is None:
        return
    inviter = session.get(Account, invitation.created_by_id)
    if inviter is None or not inviter.active:
        return
    notifications.notify(
        session,
        accounts=[inviter],
        message=notifications.Message(
            kind="invitation.claimed",
            title="邀请已认领",
            body=f"{profile.name}已通过您的邀请注册账号，今后可在线答复推荐。",
            link=f"/profiles/{profile.id}",
        ),
    )


def claim(session: Session, *, data: ClaimIn, client: str) -> Account:
    """Claim a profile with a code: a talent account that owns it (flushed; the caller commits).

    Commits the attempt's count at once (429 when the address is over its limit). A right code
    is given back, so only wrong, used, revoked and expired codes count.
    """
    limit = _claim_limit(client)
    reservation = throttle.reserve(session, [limit])
    if reservation.retry_after is not None:
        raise too_many(
            "too_many_attempts",
            f"邀请码错误次数过多，请 {reservation.retry_after} 秒后再试",
            retry_after=reservation.retry_after,
            field="code",
        )
    try:
        _check(session, data)  # a wrong code fails here, before the password is hashed
        password_hash = hash_password(data.password)  # no transaction is open
        account = _claim(session, data=data, password_hash=password_hash, client=client)
    except AppError as exc:
        session.rollback()
        if exc.field != "code":  # a taken name is not a guess: the attempt does not count
            throttle.give_back(session, reservation, [limit.key])
            session.commit()
        raise
    throttle.give_back(session, reservation, [limit.key])
    return account
