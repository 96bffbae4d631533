from __future__ import annotations

from sqlalchemy import Boolean, CheckConstraint, Column, String
from sqlmodel import Field, SQLModel


class County(SQLModel, table=True):
    """One of Jilin's 60 county-level divisions (reference data loaded by ``init``)."""

    __tablename__ = "county"
    __table_args__ = (CheckConstraint("region IN ('east','central','west')", name="region"),)

    code: str = Field(sa_column=Column(String(6), primary_key=True))
    name: str = Field(sa_column=Column(String(50), nullable=False))
    prefecture: str = Field(sa_column=Column(String(50), nullable=False, index=True))
    kind: str = Field(sa_column=Column(String(20), nullable=False))
    region: str = Field(sa_column=Column(String(10), nullable=False, index=True))
    poverty_county_2018: bool = Field(sa_column=Column(Boolean, nullable=False, default=False))
