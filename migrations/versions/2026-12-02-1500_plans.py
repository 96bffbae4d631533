"""Province-wide plans (省级统筹规划): plan, plan_assignment, plan_unfilled, and the plan a
placement was proposed from.

Revision ID: 9e3f1c7a2b64
Revises: 47ce910009d9
Create Date: 2026-12-02 15:00:00.000000+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "9e3f1c7a2b64"
down_revision: str | None = "47ce910009d9"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "plan",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("parameters", sa.JSON(), nullable=False),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("runner", sa.String(length=100), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("summary", sa.JSON(), nullable=True),
        sa.Column("shortage", sa.JSON(), nullable=True),
        sa.CheckConstraint("status IN ('running','done','failed')", name=op.f("ck_plan_status")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["account.id"],
            name=op.f("fk_plan_created_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan")),
    )
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_plan_created_at"), ["created_at"], unique=False)
        batch_op.create_index(
            "uq_plan_one_running",
            ["status"],
            unique=True,
            sqlite_where=sa.text("status = 'running'"),
            postgresql_where=sa.text("status = 'running'"),
        )

    op.create_table(
        "plan_assignment",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("rank", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_plan_assignment_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_assignment")),
    )
    with op.batch_alter_table("plan_assignment", schema=None) as batch_op:
        batch_op.create_index(
            "ix_plan_assignment_plan_need", ["plan_id", "need_id", "profile_id"], unique=True
        )
        batch_op.create_index("ix_plan_assignment_need", ["need_id"], unique=False)

    op.create_table(
        "plan_unfilled",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("plan_id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("reason", sa.String(length=30), nullable=False),
        sa.Column("detail", sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id"],
            ["plan.id"],
            name=op.f("fk_plan_unfilled_plan_id_plan"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_plan_unfilled")),
    )
    with op.batch_alter_table("plan_unfilled", schema=None) as batch_op:
        batch_op.create_index("ix_plan_unfilled_plan_need", ["plan_id", "need_id"], unique=True)

    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_id", sa.Integer(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_placement_plan_id_plan"), "plan", ["plan_id"], ["id"], ondelete="SET NULL"
        )


def downgrade() -> None:
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_placement_plan_id_plan"), type_="foreignkey")
        batch_op.drop_column("plan_id")

    with op.batch_alter_table("plan_unfilled", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_unfilled_plan_need")
    op.drop_table("plan_unfilled")
    with op.batch_alter_table("plan_assignment", schema=None) as batch_op:
        batch_op.drop_index("ix_plan_assignment_need")
        batch_op.drop_index("ix_plan_assignment_plan_need")
    op.drop_table("plan_assignment")
    with op.batch_alter_table("plan", schema=None) as batch_op:
        batch_op.drop_index("uq_plan_one_running")
        batch_op.drop_index(batch_op.f("ix_plan_created_at"))
    op.drop_table("plan")
