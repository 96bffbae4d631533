from datetime import datetime

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class ProfileEmbedding(SQLModel, table=True):
    """A profile's vector and index terms, stored so that no restart or second process re-encodes.

    ``text_digest`` covers the texts the vector and tokens were made from; together with the
    model tag, text recipe and tokenizer version it says whether the row is still current.
    """

    __tablename__ = "profile_embedding"

    profile_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("profile.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    model_tag: str = Field(sa_column=Column(String(200), nullable=False))
    recipe: str = Field(sa_column=Column(String(40), nullable=False))
    tokenizer_version: str = Field(sa_column=Column(String(60), nullable=False))
    text_digest: str = Field(sa_column=Column(String(64), nullable=False))
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tokens: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )


class NeedEmbedding(SQLModel, table=True):
    """A need's query vector and query terms (with synonym expansion)."""

    __tablename__ = "need_embedding"

    need_id: int = Field(
        sa_column=Column(
            Integer,
            ForeignKey("need.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )
    model_tag: str = Field(sa_column=Column(String(200), nullable=False))
    recipe: str = Field(sa_column=Column(String(40), nullable=False))
    tokenizer_version: str = Field(sa_column=Column(String(60), nullable=False))
    text_digest: str = Field(sa_column=Column(String(64), nullable=False))
    vector: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    tokens: str = Field(sa_column=Column(Text, nullable=False))
    updated_at: datetime = Field(
        default_factory=utcnow, sa_column=Column(UTCDateTime, nullable=False)
    )
