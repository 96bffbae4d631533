"""The second dense channel: profile_quality_vector and need_quality_vector, filled in the
background by the quality encoder (app/matches/quality.py).

Revision ID: 5b2d8e41c7f0
Revises: 9e3f1c7a2b64
Create Date: 2026-12-02 17:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5b2d8e41c7f0"
down_revision: str | None = "9e3f1c7a2b64"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

OWNERS = (("profile_quality_vector", "profile"), ("need_quality_vector", "need"))


def upgrade() -> None:
    for table, owner in OWNERS:
        op.create_table(
            table,
            sa.Column(f"{owner}_id", sa.Integer(), autoincrement=False, nullable=False),
            sa.Column("model_tag", sa.String(length=200), nullable=False),
            sa.Column("text_digest", sa.String(length=64), nullable=False),
            sa.Column("vector", sa.LargeBinary(), nullable=False),
            sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
            sa.ForeignKeyConstraint(
                [f"{owner}_id"],
                [f"{owner}.id"],
                name=op.f(f"fk_{table}_{owner}_id_{owner}"),
                ondelete="CASCADE",
            ),
            sa.PrimaryKeyConstraint(f"{owner}_id", name=op.f(f"pk_{table}")),
        )
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.create_index(batch_op.f(f"ix_{table}_updated_at"), ["updated_at"])


def downgrade() -> None:
    for table, _ in reversed(OWNERS):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(batch_op.f(f"ix_{table}_updated_at"))
        op.drop_table(table)
