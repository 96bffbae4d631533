from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, String
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class Invitation(SQLModel, table=True):
    """An invitation for a person without an account to claim their profile (one use).

    Only a hash of the code is stored: the code itself goes to the person by SMS or e-mail.
    """

    __tablename__ = "invitation"

    id: int | None = Field(default=None, sa_column=Column(Integer, primary_key=True))
    profile_id: int = Field(
        sa_column=Column(Integer, ForeignKey("profile.id"), nullable=False, index=True)
    )
    code_hash: str = Field(sa_column=Column(String(64), nullable=False, unique=True))
    created_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    created_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
    expires_at: datetime = Field(sa_column=Column(UTCDateTime, nullable=False))
    claimed_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
    claimed_by_id: int | None = Field(
        default=None,
        sa_column=Column(Integer, ForeignKey("account.id", ondelete="SET NULL"), nullable=True),
    )
    revoked_at: datetime | None = Field(default=None, sa_column=Column(UTCDateTime, nullable=True))
