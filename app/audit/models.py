from datetime import datetime

from sqlalchemy import Column, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime


class AuditEvent(SQLModel, table=True):
    """One link of the tamper-evident chain. Rows are only ever appended.

    ``before``, ``after`` and ``context`` hold canonical JSON text (not a JSON column) so that
    the bytes hashed at write time are exactly the bytes read back by ``verify``.
    """

    __tablename__ = "audit_event"
    __table_args__ = (
        Index("ix_audit_event_entity", "entity", "entity_id"),
        Index("ix_audit_event_actor", "actor_username"),
        Index("ix_audit_event_created_at", "created_at"),
    )

    seq: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    created_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    actor_id: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    actor_username: str = Field(sa_column=Column(String(64), nullable=False))
    actor_role: str = Field(sa_column=Column(String(20), nullable=False))
    action: str = Field(sa_column=Column(String(40), nullable=False, index=True))
    entity: str = Field(sa_column=Column(String(30), nullable=False))
    entity_id: str | None = Field(default=None, sa_column=Column(String(64), nullable=True))
    before: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    after: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    context: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    prev_hash: str = Field(sa_column=Column(String(64), nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))


class AuditHead(SQLModel, table=True):
    """The newest link, kept beside the chain so that a truncated tail is noticed too."""

    __tablename__ = "audit_head"

    id: int = Field(default=1, sa_column=Column(Integer, primary_key=True, autoincrement=False))
    seq: int = Field(sa_column=Column(Integer, nullable=False))
    hash: str = Field(sa_column=Column(String(64), nullable=False))
