from datetime import datetime
from typing import Any

from sqlalchemy import Column, ForeignKey, Integer, LargeBinary, String, Text
from sqlmodel import Field, SQLModel

from app.db import UTCDateTime, utcnow


class StoredEncoding(SQLModel):
    """The columns both kinds keep: a vector and index terms, and what they were made with.

    ``text_digest`` covers the texts the vector and terms were made from; with the model tag,
    text recipe and tokenizer version it says whether the row is still current
    (``embeddings.is_current``).
    """

    model_tag: str = Field(sa_type=String(200), nullable=False)
    recipe: str = Field(sa_type=String(40), nullable=False)
    tokenizer_version: str = Field(sa_type=String(60), nullable=False)
    text_digest: str = Field(sa_type=String(64), nullable=False)
    vector: bytes = Field(sa_type=LargeBinary, nullable=False)
    tokens: str = Field(sa_type=Text, nullable=False)
    updated_at: datetime = Field(default_factory=utcnow, sa_type=UTCDateTime, nullable=False)


def _owner_key(owner: str) -> Any:
    """The row's id: its owner's, and deleted with it."""
    return Field(
        sa_column=Column(
            Integer,
            ForeignKey(f"{owner}.id", ondelete="CASCADE"),
            primary_key=True,
            autoincrement=False,
        )
    )


class ProfileEmbedding(StoredEncoding, table=True):
    """A profile's vector and index terms, stored so that no restart or second process
    re-encodes."""

    __tablename__ = "profile_embedding"

    profile_id: int = _owner_key("profile")


class NeedEmbedding(StoredEncoding, table=True):
    """A need's query vector and query terms (with synonym expansion)."""

    __tablename__ = "need_embedding"

    need_id: int = _owner_key("need")


class QualityVector(SQLModel):
    """A vector of the second dense channel (the quality encoder), filled in the background.

    ``text_digest`` is the digest of the texts it was made from, the same digest the first
    channel's row carries: the vector is current while the two rows agree and ``model_tag`` is
    the running quality encoder's (``app.matches.quality``).
    """

    model_tag: str = Field(sa_type=String(200), nullable=False)
    text_digest: str = Field(sa_type=String(64), nullable=False)
    vector: bytes = Field(sa_type=LargeBinary, nullable=False)
    updated_at: datetime = Field(
        default_factory=utcnow, sa_type=UTCDateTime, nullable=False, index=True
    )


class ProfileQualityVector(QualityVector, table=True):
    __tablename__ = "profile_quality_vector"

    profile_id: int = _owner_key("profile")


class NeedQualityVector(QualityVector, table=True):
    __tablename__ = "need_quality_vector"

    need_id: int = _owner_key("need")
