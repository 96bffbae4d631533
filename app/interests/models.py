from datetime import datetime

from sqlalchemy import CheckConstraint, Column, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Interest(SQLModel, table=True):
    """我有意向: a talent stepping forward for an open need (one row per person and need)."""

    __tablename__ = "interest"
    __table_args__ = (
        UniqueConstraint("need_id", "profile_id", name="uq_interest_need_profile"),
        CheckConstraint("status IN ('active','withdrawn')", name="status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    need_id: int = Field(
        sa_column=Column(Integer, ForeignKey("need.id"), nullable=False, index=True)
    )
    profile_id: int = Field(
        sa_column=Column(Integer, ForeignKey("profile.id"), nullable=False, index=True)
    )
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    status: str = Field(default="active", sa_column=Column(String(10), nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    withdrawn_at: datetime | None = Field(
        default=None, sa_column=Column(UTCDateTime, nullable=True)
    )
