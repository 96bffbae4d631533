from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Index, Integer, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Account(SQLModel, table=True):
    __tablename__ = "account"
    __table_args__ = (
        CheckConstraint("role IN ('admin','province','county','talent')", name="role"),
        CheckConstraint("role <> 'county' OR county_code IS NOT NULL", name="county_needs_code"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    username: str = Field(sa_column=Column(String(32), nullable=False, unique=True))
    password_hash: str = Field(sa_column=Column(String(255), nullable=False))
    role: str = Field(sa_column=Column(String(20), nullable=False))
    county_code: str | None = Field(
        default=None, sa_column=Column(String(6), ForeignKey("county.code"), nullable=True)
    )
    display_name: str = Field(default="", sa_column=Column(String(50), nullable=False))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class LoginAttempt(SQLModel, table=True):
    """Failed and successful sign-ins, kept for the per-username-and-client throttle."""

    __tablename__ = "login_attempt"
    __table_args__ = (Index("ix_login_attempt_lookup", "username", "client", "created_at"),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    username: str = Field(sa_column=Column(String(64), nullable=False))
    client: str = Field(sa_column=Column(String(64), nullable=False))
    succeeded: bool = Field(sa_column=Column(Boolean, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
