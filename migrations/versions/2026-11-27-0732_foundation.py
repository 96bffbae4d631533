"""Foundation: counties, accounts, login attempts, profiles and their tags, needs, audit chain.

Revision ID: 5c962062533a
Revises: (none)
Create Date: 2026-11-27 07:32:11.840827+00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "5c962062533a"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_event",
        sa.Column("seq", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor_id", sa.Integer(), nullable=True),
        sa.Column("actor_username", sa.String(length=64), nullable=False),
        sa.Column("actor_role", sa.String(length=20), nullable=False),
        sa.Column("action", sa.String(length=40), nullable=False),
        sa.Column("entity", sa.String(length=30), nullable=False),
        sa.Column("entity_id", sa.String(length=64), nullable=True),
        sa.Column("before", sa.Text(), nullable=True),
        sa.Column("after", sa.Text(), nullable=True),
        sa.Column("context", sa.Text(), nullable=True),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("seq", name=op.f("pk_audit_event")),
    )
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_audit_event_action"), ["action"], unique=False)
        batch_op.create_index("ix_audit_event_actor", ["actor_username"], unique=False)
        batch_op.create_index("ix_audit_event_created_at", ["created_at"], unique=False)
        batch_op.create_index("ix_audit_event_entity", ["entity", "entity_id"], unique=False)

    op.create_table(
        "audit_head",
        sa.Column("id", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_head")),
    )
    op.create_table(
        "county",
        sa.Column("code", sa.String(length=6), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("prefecture", sa.String(length=50), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("region", sa.String(length=10), nullable=False),
        sa.Column("poverty_county_2018", sa.Boolean(), nullable=False),
        sa.CheckConstraint("region IN ('east','central','west')", name=op.f("ck_county_region")),
        sa.PrimaryKeyConstraint("code", name=op.f("pk_county")),
    )
    with op.batch_alter_table("county", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_county_prefecture"), ["prefecture"], unique=False)
        batch_op.create_index(batch_op.f("ix_county_region"), ["region"], unique=False)

    op.create_table(
        "login_attempt",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("client", sa.String(length=64), nullable=False),
        sa.Column("succeeded", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_login_attempt")),
    )
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.create_index(
            "ix_login_attempt_lookup",
            ["username", "client", "created_at"],
            unique=False,
        )

    op.create_table(
        "account",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=32), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=True),
        sa.Column("display_name", sa.String(length=50), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "role <> 'county' OR county_code IS NOT NULL",
            name=op.f("ck_account_county_needs_code"),
        ),
        sa.CheckConstraint(
            "role IN ('admin','province','county','talent')",
            name=op.f("ck_account_role"),
        ),
        sa.ForeignKeyConstraint(
            ["county_code"], ["county.code"], name=op.f("fk_account_county_code_county")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account")),
        sa.UniqueConstraint("username", name=op.f("uq_account_username")),
    )
    op.create_table(
        "need",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("county_code", sa.String(length=6), nullable=False),
        sa.Column("program", sa.String(length=30), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("industry", sa.String(length=50), nullable=False),
        sa.Column("headcount", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=True),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "program IN ('science_commissioner','return_home')",
            name=op.f("ck_need_program"),
        ),
        sa.CheckConstraint("status IN ('open','filled','closed')", name=op.f("ck_need_status")),
        sa.CheckConstraint("headcount BETWEEN 1 AND 20", name=op.f("ck_need_headcount")),
        sa.ForeignKeyConstraint(
            ["county_code"], ["county.code"], name=op.f("fk_need_county_code_county")
        ),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["account.id"],
            name=op.f("fk_need_created_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_need")),
    )
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.create_index("ix_need_county_status", ["county_code", "status"], unique=False)
        batch_op.create_index(batch_op.f("ix_need_program"), ["program"], unique=False)

    op.create_table(
        "profile",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("owner_id", sa.Integer(), nullable=True),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=50), nullable=False),
        sa.Column("affiliation", sa.String(length=100), nullable=False),
        sa.Column("title", sa.String(length=100), nullable=False),
        sa.Column("expertise", sa.Text(), nullable=False),
        sa.Column("achievements", sa.Text(), nullable=True),
        sa.Column("hometown_county_code", sa.String(length=6), nullable=True),
        sa.Column("availability", sa.String(length=20), nullable=False),
        sa.Column("capacity", sa.Integer(), nullable=False),
        sa.Column("preferred_regions", sa.JSON(), nullable=False),
        sa.Column("contact_phone", sa.String(length=20), nullable=True),
        sa.Column("contact_email", sa.String(length=254), nullable=True),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_by_id", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "availability IN ('full_time','part_time','remote')",
            name=op.f("ck_profile_availability"),
        ),
        sa.CheckConstraint(
            "kind IN ('expert','researcher','returnee','entrepreneur','team','organization')",
            name=op.f("ck_profile_kind"),
        ),
        sa.CheckConstraint("capacity BETWEEN 1 AND 10", name=op.f("ck_profile_capacity")),
        sa.ForeignKeyConstraint(
            ["created_by_id"],
            ["account.id"],
            name=op.f("fk_profile_created_by_id_account"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["hometown_county_code"],
            ["county.code"],
            name=op.f("fk_profile_hometown_county_code_county"),
        ),
        sa.ForeignKeyConstraint(
            ["owner_id"],
            ["account.id"],
            name=op.f("fk_profile_owner_id_account"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_profile")),
        sa.UniqueConstraint("owner_id", name=op.f("uq_profile_owner_id")),
    )
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_profile_hometown_county_code"),
            ["hometown_county_code"],
            unique=False,
        )
        batch_op.create_index(batch_op.f("ix_profile_kind"), ["kind"], unique=False)

    op.create_table(
        "profile_tag",
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("tag", sa.String(length=20), nullable=False),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["profile.id"],
            name=op.f("fk_profile_tag_profile_id_profile"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("profile_id", "tag", name=op.f("pk_profile_tag")),
    )
    with op.batch_alter_table("profile_tag", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_profile_tag_tag"), ["tag"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("profile_tag", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_tag_tag"))

    op.drop_table("profile_tag")
    with op.batch_alter_table("profile", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_profile_kind"))
        batch_op.drop_index(batch_op.f("ix_profile_hometown_county_code"))

    op.drop_table("profile")
    with op.batch_alter_table("need", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_need_program"))
        batch_op.drop_index("ix_need_county_status")

    op.drop_table("need")
    op.drop_table("account")
    with op.batch_alter_table("login_attempt", schema=None) as batch_op:
        batch_op.drop_index("ix_login_attempt_lookup")

    op.drop_table("login_attempt")
    with op.batch_alter_table("county", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_county_region"))
        batch_op.drop_index(batch_op.f("ix_county_prefecture"))

    op.drop_table("county")
    op.drop_table("audit_head")
    with op.batch_alter_table("audit_event", schema=None) as batch_op:
        batch_op.drop_index("ix_audit_event_entity")
        batch_op.drop_index("ix_audit_event_created_at")
        batch_op.drop_index("ix_audit_event_actor")
        batch_op.drop_index(batch_op.f("ix_audit_event_action"))

    op.drop_table("audit_event")
