from datetime import datetime

from sqlalchemy import (
    Boolean,
    CheckConstraint,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow

OPEN_STATUSES = ("accepted", "active")  # count against capacity and headcount
LIVE_STATUSES = ("proposed", "accepted", "active")  # not yet finished either way
# Once a person accepted, the county of the placement sees their contact details.
CONTACT_STATUSES = ("accepted", "active", "completed")


class Placement(SQLModel, table=True):
    """A person sent to a county need: its state, and the match it came from."""

    __tablename__ = "placement"
    __table_args__ = (
        CheckConstraint(
            "status IN ('proposed','accepted','declined','active','completed','cancelled')",
            name="status",
        ),
        CheckConstraint("off_list = false OR reason IS NOT NULL", name="off_list_reason"),
        Index("ix_placement_county_status", "county_code", "status"),
        Index("ix_placement_profile_status", "profile_id", "status"),
        Index("ix_placement_need_status", "need_id", "status"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    need_id: int = Field(sa_column=Column(Integer, ForeignKey("need.id"), nullable=False))
    profile_id: int = Field(sa_column=Column(Integer, ForeignKey("profile.id"), nullable=False))
    # Copied from the need so that listings and statistics filter without a join.
    county_code: str = Field(sa_column=Column(String(6), ForeignKey("county.code"), nullable=False))
    program: str = Field(sa_column=Column(String(30), nullable=False))
    status: str = Field(default="proposed", sa_column=Column(String(12), nullable=False))
    off_list: bool = Field(default=False, sa_column=Column(Boolean, nullable=False))
    match_rank: int | None = Field(default=None, sa_column=Column(Integer, nullable=True))
    match_score: float | None = Field(default=None, sa_column=Column(Float, nullable=True))
    match_components: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    model_version: str | None = Field(default=None, sa_column=Column(String(200), nullable=True))
    note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    cancel_reason: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # Why the person declined: one of schemas.DECLINE_REASONS, and their own words.
    decline_code: str | None = Field(default=None, sa_column=Column(String(30), nullable=True))
    decline_note: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    # The interest (我有意向) the proposal was made from, if any.
    interest_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("interest.id", ondelete="SET NULL"), nullable=True),
    )
    # The plan (省级统筹规划) the proposal follows, if any.
    plan_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("plan.id", ondelete="SET NULL"), nullable=True),
    )
    proposed_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False, index=True)
    )
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    accepted_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    declined_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    started_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    completed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))
    cancelled_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime))


class ServiceReport(SQLModel, table=True):
    """服务记录: what a placed person did in one period."""

    __tablename__ = "service_report"
    __table_args__ = (
        CheckConstraint(
            "service_days >= 0 AND trainings >= 0 AND problems_solved >= 0 "
            "AND techniques_promoted >= 0 AND jobs_created >= 0",
            name="non_negative",
        ),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    placement_id: int = Field(
        sa_column=Column(Integer, ForeignKey("placement.id"), nullable=False, index=True)
    )
    author_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    period: str = Field(sa_column=Column(String(50), nullable=False))
    service_days: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    trainings: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    problems_solved: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    techniques_promoted: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    jobs_created: int = Field(default=0, sa_column=Column(Integer, nullable=False))
    text: str = Field(sa_column=Column(Text, nullable=False))
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
