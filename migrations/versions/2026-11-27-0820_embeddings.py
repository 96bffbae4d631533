"""Stored embeddings and index terms of profiles and needs (matching).

Revision ID: 8a0a9e428dcd
Revises: 3db00fd82625
Create Date: 2026-11-27 08:20:33.142325+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "8a0a9e428dcd"
down_revision: str | None = "3db00fd82625"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "need_embedding",
        sa.Column("need_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model_tag", sa.String(length=200), nullable=False),
        sa.Column("recipe", sa.String(length=40), nullable=False),
        sa.Column("tokenizer_version", sa.String(length=60), nullable=False),
        sa.Column("text_digest", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["need_id"],
            ["need.id"],
            name=op.f("fk_need_embedding_need_id_need"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("need_id", name=op.f("pk_need_embedding")),
    )
    op.create_table(
        "profile_embedding",
        sa.Column("profile_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("model_tag", sa.String(length=200), nullable=False),
        sa.Column("recipe", sa.String(length=40), nullable=False),
        sa.Column("tokenizer_version", sa.String(length=60), nullable=False),
        sa.Column("text_digest", sa.String(length=64), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("tokens", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_profile_embedding_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", name=op.f("pk_profile_embedding")),
    )


def downgrade() -> None:
    op.drop_table("profile_embedding")
    op.drop_table("need_embedding")
