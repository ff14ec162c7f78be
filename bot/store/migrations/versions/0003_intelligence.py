"""Chat intelligence: each post read keeps its triage decision and hostile-input flags; drafts keep the
drafter's rationale and the flags of the post they answer, for the reviewer.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

WORD = sa.String(length=16)


def upgrade() -> None:
    with op.batch_alter_table("chat_posts") as batch:
        batch.add_column(sa.Column("triage", WORD, nullable=True))
        batch.add_column(sa.Column("triage_reason", sa.Text(), nullable=True))
        batch.add_column(sa.Column("triage_score", sa.Float(), nullable=True))
        batch.add_column(sa.Column("flags", sa.Text(), nullable=True))
    with op.batch_alter_table("drafts") as batch:
        batch.add_column(sa.Column("rationale", sa.Text(), nullable=True))
        batch.add_column(sa.Column("flags", sa.Text(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch:
        batch.drop_column("flags")
        batch.drop_column("rationale")
    with op.batch_alter_table("chat_posts") as batch:
        batch.drop_column("flags")
        batch.drop_column("triage_score")
        batch.drop_column("triage_reason")
        batch.drop_column("triage")
