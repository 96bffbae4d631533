from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class OutboxMessage(SQLModel, table=True):
    """A message to deliver outside the app (e-mail, SMS), written in the transaction that
    caused it and delivered afterwards by ``app.outbox.worker``."""

    __tablename__ = "outbox_message"
    __table_args__ = (
        CheckConstraint("channel IN ('email','sms')", name="channel"),
        CheckConstraint("status IN ('pending','sent','failed','skipped')", name="status"),
        Index("ix_outbox_message_due", "status", "next_attempt_at"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    # Stable across retries and restarts; sent along (Message-ID, Idempotency-Key) so that the
    # receiving side can drop a repeat after a crash between its acceptance and our commit.
    delivery_key: str = Field(sa_column=Column(String(100), nullable=False, unique=True))
    notification_id: int | None = Field(
        default=None,
        sa_column=Column(
            Integer, ForeignKey("notification.id", ondelete="SET NULL"), nullable=True
        ),
    )
    channel: str = Field(sa_column=Column(String(10), nullable=False))
    address: str = Field(sa_column=Column(String(254), nullable=False))
    subject: str = Field(sa_column=Column(String(200), nullable=False))
    body: str = Field(sa_column=Column(Text, nullable=False))
    # A page of the service; the worker makes it absolute with XIANGCAI_PUBLIC_URL.
    link: str | None = Field(default=None, sa_column=Column(String(300), nullable=True))
    status: str = Field(default="pending", sa_column=Column(String(10), nullable=False))
    attempts: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    next_attempt_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    # A worker that takes a message holds it until then; a worker killed mid-delivery lets it go
    # when the lease runs out, and another worker (or the same one restarted) tries again.
    leased_until: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
    last_error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    sent_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
