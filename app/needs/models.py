from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Column, Date, ForeignKey, Index, Integer, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Need(SQLModel, table=True):
    """A county bureau's request for talent under one of the two programmes."""

    __tablename__ = "need"
    __table_args__ = (
        CheckConstraint("headcount BETWEEN 1 AND 20", name="headcount"),
        CheckConstraint("program IN ('science_commissioner','return_home')", name="program"),
        CheckConstraint("status IN ('open','filled','closed')", name="status"),
        Index("ix_need_county_status", "county_code", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    county_code: str = Field(sa_column=Column(String(6), ForeignKey("county.code"), nullable=False))
    program: str = Field(sa_column=Column(String(30), nullable=False, index=True))
    title: str = Field(sa_column=Column(String(100), nullable=False))
    description: str = Field(sa_column=Column(Text, nullable=False))
    industry: str = Field(sa_column=Column(String(50), nullable=False))
    headcount: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    status: str = Field(default="open", sa_column=Column(String(10), nullable=False))
    # The county's contact for this need, shown to signed-in talents.
    contact_name: str | None = Field(default=None, sa_column=Column(String(50), nullable=True))
    contact_phone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    deadline: date | None = Field(default=None, sa_column=Column(Date, nullable=True))
    created_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
