from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, CheckConstraint, Column, ForeignKey, Integer, String
from sqlalchemy import false as sa_false
from sqlalchemy import true as sa_true
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
    # Carried in every access token; bumping it (sign-out, password, role or county change,
    # deactivation) turns away every token issued before.
    token_version: int = Field(
        default=0, sa_column=Column(Integer, nullable=False, server_default="0")
    )
    # Where notifications go beyond the app, and whether the person wants them there. A talent's
    # address falls back to their profile's contact details.
    email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    phone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    notify_email: bool = Field(
        default=True, sa_column=Column(Boolean, nullable=False, server_default=sa_true())
    )
    notify_sms: bool = Field(
        default=False, sa_column=Column(Boolean, nullable=False, server_default=sa_false())
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class RateCounter(SQLModel, table=True):
    """One fixed-window counter of the sign-in and registration limits (app/auth/throttle.py)."""

    __tablename__ = "rate_counter"

    key: str = Field(sa_column=Column(String(200), primary_key=True))
    hits: int = Field(sa_column=Column(Integer, nullable=False))
    window_started_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False, index=True))
