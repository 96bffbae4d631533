"""Queueing messages for delivery outside the app, in the caller's transaction."""

from __future__ import annotations

from sqlmodel import Session, select

from app.auth.models import Account
from app.notifications.models import Notification
from app.outbox.models import OutboxMessage
from app.profiles.models import Profile

SMS_MAX_CHARS = 300


def addresses_of(session: Session, account: Account) -> dict[str, str]:
    """The channels this person chose, with where to reach them there. A talent without an
    address on the account is reached at their profile's contact details."""
    email, phone = account.email, account.phone
    if (not email or not phone) and account.role == "talent" and account.id is not None:
        profile = session.exec(select(Profile).where(Profile.owner_id == account.id)).first()
        if profile is not None:
            email = email or profile.contact_email
            phone = phone or profile.contact_phone
    found: dict[str, str] = {}
    if account.notify_email and email:
        found["email"] = email
    if account.notify_sms and phone:
        found["sms"] = phone
    return found


def queue(
    session: Session,
    *,
    channel: str,
    address: str,
    subject: str,
    body: str,
    delivery_key: str,
    link: str | None = None,
    notification_id: int | None = None,
) -> OutboxMessage:
    message = OutboxMessage(
        delivery_key=delivery_key,
        notification_id=notification_id,
        channel=channel,
        address=address,
        subject=subject[:200],
        body=body if channel == "email" else sms_text(subject, body),
        link=link,
    )
    session.add(message)
    return message


def sms_text(subject: str, body: str) -> str:
    text = f"【乡才通】{subject}：{body}"
    return text if len(text) <= SMS_MAX_CHARS else text[: SMS_MAX_CHARS - 1] + "…"


def queue_for(session: Session, *, account: Account, notification: Notification) -> None:
    assert notification.id is not None
    for channel, address in addresses_of(session, account).items():
        queue(
            session,
            channel=channel,
            address=address,
            subject=notification.title,
            body=notification.body,
            delivery_key=f"notification-{notification.id}-{channel}",
            link=notification.link,
            notification_id=notification.id,
        )
