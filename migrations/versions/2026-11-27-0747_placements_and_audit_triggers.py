"""Placements, service reports, idempotency records; PostgreSQL triggers that keep the audit chain append-only.

Revision ID: 3db00fd82625
Revises: 5c962062533a
Create Date: 2026-11-27 07:47:03.428522+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "3db00fd82625"
down_revision: str | None = "5c962062533a"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


# On PostgreSQL the audit table refuses UPDATE and DELETE outright, and the chain head may only
# move forward to the newest event: even a bug (or a careless operator) cannot rewrite history.
PG_TRIGGERS = """
CREATE FUNCTION audit_event_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'audit_event is append-only (% refused)', TG_OP;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_event_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_event
    FOR EACH ROW EXECUTE FUNCTION audit_event_append_only();

CREATE TRIGGER audit_event_no_truncate
    BEFORE TRUNCATE ON audit_event
    FOR EACH STATEMENT EXECUTE FUNCTION audit_event_append_only();

CREATE FUNCTION audit_head_forward_only() RETURNS trigger AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'audit_head cannot be deleted';
    END IF;
    IF NEW.seq <= OLD.seq OR NOT EXISTS (
        SELECT 1 FROM audit_event WHERE seq = NEW.seq AND hash = NEW.hash
    ) THEN
        RAISE EXCEPTION 'audit_head may only move forward to an existing event';
    END IF;
    RETURN NEW;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER audit_head_forward_only
    BEFORE UPDATE OR DELETE ON audit_head
    FOR EACH ROW EXECUTE FUNCTION audit_head_forward_only();
"""

PG_DROP_TRIGGERS = """
DROP TRIGGER IF EXISTS audit_head_forward_only ON audit_head;
DROP FUNCTION IF EXISTS audit_head_forward_only();
DROP TRIGGER IF EXISTS audit_event_no_truncate ON audit_event;
DROP TRIGGER IF EXISTS audit_event_no_update_delete ON audit_event;
DROP FUNCTION IF EXISTS audit_event_append_only();
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_TRIGGERS)
    op.create_table(
        "idempotency_record",
        sa.Column("actor_id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("key", sa.String(length=100), nullable=False),
        sa.Column("fingerprint", sa.String(length=64), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("actor_id", "key", name=op.f("pk_idempotency_record")),
    )
    op.create_table(
        "placement",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("need_id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("off_list", sa.Boolean(), nullable=False),
        sa.Column("match_rank", sa.Integer(), nullable=True),
        sa.Column("match_score", sa.Float(), nullable=True),
        sa.Column("match_components", sa.Text(), nullable=True),
        sa.Column("model_version", sa.String(length=200), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("cancel_reason", sa.Text(), nullable=True),
        sa.Column("proposed_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("accepted_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("declined_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("cancelled_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('proposed','accepted','declined','active','completed','cancelled')",
            name=op.f("ck_placement_status"),
        ),
        sa.CheckConstraint(
            "off_list = false OR reason IS NOT NULL", name=op.f("ck_placement_off_list_reason")
        ),
        sa.ForeignKeyConstraint(
            ["county_code"], ["county.code"], name=op.f("fk_placement_county_code_county")
        ),
        sa.ForeignKeyConstraint(["need_id"], ["need.id"], name=op.f("fk_placement_need_id_need")),
        sa.ForeignKeyConstraint(
            ["profile_id"], ["profile.id"], name=op.f("fk_placement_profile_id_profile")
        ),
        sa.ForeignKeyConstraint(
            ["proposed_by_id"],
            ["account.id"],
            name=op.f("fk_placement_proposed_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_placement")),
    )
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.create_index("ix_placement_county_status", ["county_code", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_placement_created_at"), ["created_at"], unique=False)
        batch_op.create_index("ix_placement_need_status", ["need_id", "status"], unique=False)
        batch_op.create_index("ix_placement_profile_status", ["profile_id", "status"], unique=False)

    op.create_table(
        "service_report",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("placement_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("period", sa.String(length=50), nullable=False),
        sa.Column("service_days", sa.Integer(), nullable=False),
        sa.Column("trainings", sa.Integer(), nullable=False),
        sa.Column("problems_solved", sa.Integer(), nullable=False),
        sa.Column("techniques_promoted", sa.Integer(), nullable=False),
        sa.Column("jobs_created", sa.Integer(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "service_days >= 0 AND trainings >= 0 AND problems_solved >= 0 AND techniques_promoted >= 0 AND jobs_created >= 0",
            name=op.f("ck_service_report_non_negative"),
        ),
        sa.ForeignKeyConstraint(
            ["author_id"],
            ["account.id"],
            name=op.f("fk_service_report_author_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["placement_id"],
            ["placement.id"],
            name=op.f("fk_service_report_placement_id_placement"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_service_report")),
    )
    with op.batch_alter_table("service_report", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_service_report_placement_id"), ["placement_id"], unique=False
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(PG_DROP_TRIGGERS)
    with op.batch_alter_table("service_report", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_service_report_placement_id"))

    op.drop_table("service_report")
    with op.batch_alter_table("placement", schema=None) as batch_op:
        batch_op.drop_index("ix_placement_profile_status")
        batch_op.drop_index("ix_placement_need_status")
        batch_op.drop_index(batch_op.f("ix_placement_created_at"))
        batch_op.drop_index("ix_placement_county_status")

    op.drop_table("placement")
    op.drop_table("idempotency_record")
