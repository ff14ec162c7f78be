"""The policy engine: a person's reclassification of a draft, opt-outs, and the policy lock row.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("promo_override", sa.Boolean(), nullable=True))

    op.create_table(
        "opt_outs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("chat_slug", sa.String(length=64), nullable=False),
        sa.Column("tweet_id", sa.String(length=32), nullable=True),
        sa.Column("word", sa.String(length=64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_opt_outs")),
        sa.UniqueConstraint("username", name=op.f("uq_opt_outs_username")),
    )
    op.create_table(
        "policy_locks",
        sa.Column("name", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_policy_locks")),
    )


def downgrade() -> None:
    op.drop_table("policy_locks")
    op.drop_table("opt_outs")
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("promo_override")
