"""Index on profile (name, contact_phone) for the duplicate check of bulk imports.

Revision ID: 5b0aaf92152e
Revises: 8a0a9e428dcd
Create Date: 2026-11-27 10:17:11.275237+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op


revision: str = "5b0aaf92152e"
down_revision: str | None = "8a0a9e428dcd"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.create_index("ix_profile_name_phone", ["name", "contact_phone"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_index("ix_profile_name_phone")
