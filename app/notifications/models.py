from datetime import datetime

from sqlalchemy import Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Notification(SQLModel, table=True):
    """消息: one thing an account should learn of, written with the change that caused it."""

    __tablename__ = "notification"
    __table_args__ = (
        # The 消息 page and the unread badge: one account's newest, unread first.
        Index("ix_notification_account_read", "account_id", "read_at", "id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    account_id: int = Field(
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="CASCADE"), nullable=False)
    )
    kind: str = Field(sa_column=Column(String(40), nullable=False))
    title: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    link: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    # Reminders are written by a periodic sweep: the key makes each one at most once per account.
    dedupe_key: str | None = Field(
        default=None, sa_column=Column(String(200), nullable=True, unique=True)
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    read_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
