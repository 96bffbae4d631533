"""A province-wide plan (省级统筹规划): its parameters, status, figures, and what it advises.

A plan places nobody. Its rows are advice kept as it was given: ``need_id`` and ``profile_id``
are plain ids, not foreign keys, so that a need or a profile deleted later neither breaks nor
silently rewrites an audited plan.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    text,
)
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

PLAN_STATUSES = ("running", "done", "failed")


class Plan(SQLModel, table=True):
    __tablename__ = "plan"
    __table_args__ = (
        CheckConstraint("status IN ('running','done','failed')", name="status"),
        # One plan runs at a time in the whole service, whichever process started it.
        Index(
            "uq_plan_one_running",
            "status",
            unique=True,
            sqlite_where=text("status = 'running'"),
            postgresql_where=text("status = 'running'"),
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    status: str = Field(default="running", sa_column=Column(String(10), nullable=False))
    parameters: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
    model_version: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    created_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    finished_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    # Which process runs it (host:pid) and when it last said so: a plan whose process died is
    # recognised and marked failed (``service.fail_orphans``).
    runner: str | None = Field(default=None, sa_column=Column(String(100), nullable=True))
    heartbeat_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    error: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    summary: dict[str, Any] | None = Field(default=None, sa_column=Column(JSON, nullable=True))
    shortage: list[dict[str, Any]] | None = Field(
        default=None, sa_column=Column(JSON, nullable=True)
    )


class PlanAssignment(SQLModel, table=True):
    """One person the plan advises for one need; ``rank`` is their place on the need's list."""

    __tablename__ = "plan_assignment"
    __table_args__ = (
        Index("ix_plan_assignment_plan_need", "plan_id", "need_id", "profile_id", unique=True),
        Index("ix_plan_assignment_need", "need_id"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    plan_id: int = Field(
        sa_column=Column(Integer, ForeignKey("plan.id", ondelete="CASCADE"), nullable=False)
    )
    need_id: int = Field(sa_column=Column(Integer, nullable=False))
    profile_id: int = Field(sa_column=Column(Integer, nullable=False))
    score: float = Field(sa_column=Column(Float, nullable=False))
    rank: int = Field(sa_column=Column(Integer, nullable=False))


class PlanUnfilled(SQLModel, table=True):
    """A need the plan leaves with open seats, and why (``allocation.UNFILLED_REASONS``)."""

    __tablename__ = "plan_unfilled"
    __table_args__ = (Index("ix_plan_unfilled_plan_need", "plan_id", "need_id", unique=True),)

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    plan_id: int = Field(
        sa_column=Column(Integer, ForeignKey("plan.id", ondelete="CASCADE"), nullable=False)
    )
    need_id: int = Field(sa_column=Column(Integer, nullable=False))
    reason: str = Field(sa_column=Column(String(30), nullable=False))
    # {"missing": seats, "taken": [{"profile_id", "need_ids"}], "free": [profile ids]}
    detail: dict[str, Any] = Field(default_factory=dict, sa_column=Column(JSON, nullable=False))
