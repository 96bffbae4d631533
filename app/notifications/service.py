"""Writing and reading notifications (消息).

``notify`` is called inside the transaction of the change it tells of (a proposal, an answer, a
step of the placement, an interest): the notification rows and their outbox messages commit or
roll back with that change. Who receives what is decided here, by ``recipients_*``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.audit import service as audit
from app.auth.actor import Actor
from app.auth.models import Account
from app.config import Settings
from app.db import page_of, utcnow
from app.errors import not_found
from app.notifications.models import Notification
from app.notifications.schemas import ChannelSettings, ChannelSettingsPublic
from app.outbox import service as outbox
from app.outbox.worker import channels_of
from app.profiles.models import Profile

CHANNEL_FIELDS = ("email", "phone", "notify_email", "notify_sms")

# Kinds, and how the 消息 page labels them.
KIND_LABELS = {
    "placement.proposed": "新的推荐",
    "placement.accepted": "人才已接受",
    "placement.declined": "人才已婉拒",
    "placement.started": "开始服务",
    "placement.completed": "服务完成",
    "placement.cancelled": "对接已取消",
    "interest.created": "人才有意向",
    "invitation.claimed": "邀请已认领",
    "reminder.proposal_unanswered": "待答复提醒",
    "reminder.report_overdue": "服务记录提醒",
    "reminder.need_unproposed": "需求待推荐提醒",
}


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    body: str
    link: str | None = None


def county_officers(session: Session, county_code: str) -> list[Account]:
    """The active county accounts of a county: they all see the county's needs."""
    return list(
        session.exec(
            select(Account)
            .where(Account.role == "county", Account.county_code == county_code)
            .where(col(Account.active).is_(True))
            .order_by(col(Account.id))
        ).all()
    )


def owner_of(session: Session, profile_id: int) -> Account | None:
    """The talent account that owns a profile, if the person has one."""
    profile = session.get(Profile, profile_id)
    if profile is None or profile.owner_id is None:
        return None
    account = session.get(Account, profile.owner_id)
    return account if account is not None and account.active else None


def notify(
    session: Session,
    *,
    accounts: Iterable[Account],
    message: Message,
    dedupe_key: str | None = None,
) -> list[Notification]:
    """One notification per account (once each), and the outbox messages of the channels each
    person chose; flushed, not committed."""
    accounts = list(accounts)  # read twice below: a generator would be spent after the first
    written: list[Notification] = []
    seen: set[int] = set()
    for account in accounts:
        assert account.id is not None
        if account.id in seen:
            continue
        seen.add(account.id)
        key = f"{dedupe_key}:{account.id}" if dedupe_key else None
        if (
            key is not None
            and session.exec(select(Notification.id).where(Notification.dedupe_key == key)).first()
        ):
            continue
        row = Notification(
            account_id=account.id,
            kind=message.kind,
            title=message.title,
            body=message.body,
            link=message.link,
            dedupe_key=key,
        )
        session.add(row)
        written.append(row)
    if not written:
        return written
    session.flush()
    by_id = {a.id: a for a in accounts if a.id is not None}
    for row in written:
        outbox.queue_for(session, account=by_id[row.account_id], notification=row)
    return written


# --- reading -----------------------------------------------------------------------------------


def page(
    session: Session, *, account_id: int, unread: bool | None, page: int, page_size: int
) -> tuple[list[Notification], int]:
    conditions: list[object] = [Notification.account_id == account_id]
    if unread is True:
        conditions.append(col(Notification.read_at).is_(None))
    elif unread is False:
        conditions.append(col(Notification.read_at).is_not(None))
    return page_of(
        session, Notification, conditions, [col(Notification.id).desc()], page, page_size
    )


def unread_count(session: Session, account_id: int) -> int:
    return int(
        session.exec(
            select(func.count())
            .select_from(Notification)
            .where(Notification.account_id == account_id)
            .where(col(Notification.read_at).is_(None))
        ).one()
    )


def mark_read(session: Session, *, account_id: int, notification_id: int) -> Notification:
    row = session.get(Notification, notification_id)
    # Another person's notification is as good as missing: its existence is not told.
    if row is None or row.account_id != account_id:
        raise not_found("消息", field="notification_id")
    if row.read_at is None:
        row.read_at = utcnow()
        session.add(row)
        session.flush()
    return row


def mark_all_read(session: Session, *, account_id: int) -> int:
    result = session.exec(
        update(Notification)
        .where(col(Notification.account_id) == account_id)
        .where(col(Notification.read_at).is_(None))
        .values(read_at=utcnow())
    )
    return int(result.rowcount or 0)


# --- where people hear of them -----------------------------------------------------------------


def delivery_channels(settings: Settings) -> list[str]:
    """The channels this service instance can send through at all (beside the app)."""
    return list(channels_of(settings))


def channel_settings(
    session: Session, account: Account, delivery: list[str]
) -> ChannelSettingsPublic:
    found = {}
    profile_email = profile_phone = None
    if account.role == "talent" and account.id is not None:
        profile = session.exec(select(Profile).where(Profile.owner_id == account.id)).first()
        if profile is not None:
            profile_email, profile_phone = profile.contact_email, profile.contact_phone
    found["email_used"] = account.email or profile_email
    found["phone_used"] = account.phone or profile_phone
    return ChannelSettingsPublic(
        email=account.email,
        phone=account.phone,
        notify_email=account.notify_email,
        notify_sms=account.notify_sms,
        delivery=delivery,
        **found,
    )


def save_channels(
    session: Session, *, account: Account, data: ChannelSettings, actor: Actor
) -> Account:
    before = audit.fields_of(account, CHANNEL_FIELDS)
    for name in CHANNEL_FIELDS:
        setattr(account, name, getattr(data, name))
    account.updated_at = utcnow()
    session.add(account)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="account.channels",
        entity="account",
        entity_id=account.id,
        before=before,
        after=audit.fields_of(account, CHANNEL_FIELDS),
    )
    return account
