from datetime import datetime

from sqlalchemy import (
    JSON,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
)
from sqlmodel import Field, Relationship, SQLModel

from app.db import UTCDateTime, utcnow


class Profile(SQLModel, table=True):
    """A person, team or organisation that can be placed in a county."""

    __tablename__ = "profile"
    __table_args__ = (
        CheckConstraint("capacity BETWEEN 1 AND 10", name="capacity"),
        CheckConstraint(
            "kind IN ('expert','researcher','returnee','entrepreneur','team','organization')",
            name="kind",
        ),
        CheckConstraint("availability IN ('full_time','part_time','remote')", name="availability"),
        # Bulk imports look people up by name and phone to refuse duplicates.
        Index("ix_profile_name_phone", "name", "contact_phone"),
    )

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    owner_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), unique=True),
    )
    kind: str = Field(sa_column=Column(String(20), nullable=False, index=True))
    name: str = Field(sa_column=Column(String(50), nullable=False))
    affiliation: str = Field(sa_column=Column(String(100), nullable=False))
    title: str = Field(sa_column=Column(String(100), nullable=False))
    expertise: str = Field(sa_column=Column(Text, nullable=False))
    achievements: str | None = Field(default=None, sa_column=Column(Text, nullable=True))
    hometown_county_code: str | None = Field(
        default=None,
        sa_column=Column(String(6), ForeignKey("county.code"), nullable=True, index=True),
    )
    availability: str = Field(sa_column=Column(String(20), nullable=False))
    capacity: int = Field(default=1, sa_column=Column(Integer, nullable=False))
    preferred_regions: list[str] = Field(
        default_factory=list, sa_column=Column(JSON, nullable=False)
    )
    contact_phone: str | None = Field(default=None, sa_column=Column(String(20), nullable=True))
    contact_email: str | None = Field(default=None, sa_column=Column(String(254), nullable=True))
    active: bool = Field(default=True, sa_column=Column(Boolean, nullable=False))
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

    tags: list["ProfileTag"] = Relationship(
        back_populates="profile",
        sa_relationship_kwargs={
            "lazy": "selectin",
            "cascade": "all, delete-orphan",
            "order_by": "ProfileTag.position",
        },
    )

    @property
    def fields(self) -> list[str]:
        return [t.tag for t in self.tags]


class ProfileTag(SQLModel, table=True):
    """The short field tags of a profile, one row each so that they can be filtered on."""

    __tablename__ = "profile_tag"

    profile_id: int = Field(
        sa_column=Column(Integer, ForeignKey("profile.id", ondelete="CASCADE"), primary_key=True)
    )
    tag: str = Field(sa_column=Column(String(20), primary_key=True, index=True))
    position: int = Field(default=0, sa_column=Column(Integer, nullable=False))

    profile: "Profile" = Relationship(back_populates="tags")
