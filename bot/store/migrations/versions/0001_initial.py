"""The initial schema: chat runs, the posts read, drafts and their events, the action ledger, X usage.

Revision ID: 0001
Revises:
Create Date: 2026-11-25

Timestamps are sa.DateTime(timezone=True) here; the models read them through UTCDateTime.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

ID = sa.String(length=32)
SLUG = sa.String(length=64)
WORD = sa.String(length=16)


def _when(name: str, *, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, sa.DateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "chat_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("chat_slug", SLUG, nullable=False),
        sa.Column("hashtag", sa.String(length=140), nullable=False),
        _when("window_start"),
        _when("window_end"),
        sa.Column("state", WORD, nullable=False),
        sa.Column("since_id", ID, nullable=True),
        _when("opened_at"),
        _when("closed_at", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_runs")),
        sa.UniqueConstraint("chat_slug", "window_start", name=op.f("uq_chat_runs_chat_slug_window_start")),
    )

    op.create_table(
        "chat_posts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("tweet_id", ID, nullable=False),
        sa.Column("author_id", ID, nullable=False),
        sa.Column("author_username", sa.String(length=64), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        _when("created_at"),
        sa.Column("conversation_id", ID, nullable=True),
        sa.Column("reply_to_tweet_id", ID, nullable=True),
        sa.Column("quote_of_tweet_id", ID, nullable=True),
        sa.Column("lang", WORD, nullable=True),
        sa.Column("mentions_account", sa.Boolean(), nullable=False),
        sa.Column("is_own", sa.Boolean(), nullable=False),
        sa.Column("event", WORD, nullable=False),
        sa.Column("question_number", sa.Integer(), nullable=True),
        _when("read_at"),
        _when("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["chat_runs.id"], name=op.f("fk_chat_posts_run_id_chat_runs"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_chat_posts")),
        sa.UniqueConstraint("run_id", "tweet_id", name=op.f("uq_chat_posts_run_id_tweet_id")),
    )
    op.create_index("ix_chat_posts_tweet_id", "chat_posts", ["tweet_id"])
    op.create_index("ix_chat_posts_run_id_created_at", "chat_posts", ["run_id", "created_at"])

    op.create_table(
        "drafts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("chat_slug", SLUG, nullable=False),
        sa.Column("kind", WORD, nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("target_tweet_id", ID, nullable=True),
        sa.Column("question_number", sa.Integer(), nullable=True),
        sa.Column("state", WORD, nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("score", sa.Float(), nullable=True),
        sa.Column("route", WORD, nullable=False),
        sa.Column("is_promotional", sa.Boolean(), nullable=False),
        sa.Column("drafter", WORD, nullable=False),
        sa.Column("llm_model", sa.String(length=100), nullable=True),
        sa.Column("llm_input_tokens", sa.Integer(), nullable=True),
        sa.Column("llm_output_tokens", sa.Integer(), nullable=True),
        sa.Column("x_post_id", ID, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("handoff_url", sa.Text(), nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("expires_at", nullable=True),
        _when("posted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["chat_runs.id"], name=op.f("fk_drafts_run_id_chat_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
        sa.UniqueConstraint(
            "run_id", "kind", "target_tweet_id", name=op.f("uq_drafts_run_id_kind_target_tweet_id")
        ),
    )
    op.create_index("ix_drafts_state_chat_slug_created_at", "drafts", ["state", "chat_slug", "created_at"])
    op.create_index("ix_drafts_target_tweet_id", "drafts", ["target_tweet_id"])

    op.create_table(
        "draft_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("draft_id", sa.Integer(), nullable=False),
        sa.Column("from_state", WORD, nullable=False),
        sa.Column("to_state", WORD, nullable=False),
        _when("at"),
        sa.Column("by", sa.String(length=32), nullable=False),
        sa.Column("why", sa.Text(), nullable=False),
        sa.Column("text_before", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_draft_events_draft_id_drafts"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_draft_events")),
    )
    op.create_index("ix_draft_events_draft_id", "draft_events", ["draft_id"])

    op.create_table(
        "actions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", WORD, nullable=False),
        sa.Column("chat_slug", SLUG, nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=True),
        sa.Column("draft_id", sa.Integer(), nullable=True),
        sa.Column("target_tweet_id", ID, nullable=True),
        sa.Column("x_post_id", ID, nullable=True),
        sa.Column("is_promotional", sa.Boolean(), nullable=False),
        _when("at"),
        sa.Column("via", WORD, nullable=False),
        sa.ForeignKeyConstraint(
            ["draft_id"], ["drafts.id"], name=op.f("fk_actions_draft_id_drafts"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["run_id"], ["chat_runs.id"], name=op.f("fk_actions_run_id_chat_runs"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_actions")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_actions_draft_id")),
    )
    op.create_index("ix_actions_at", "actions", ["at"])
    op.create_index("ix_actions_chat_slug_at", "actions", ["chat_slug", "at"])

    op.create_table(
        "x_usage",
        sa.Column("id", sa.Integer(), nullable=False),
        _when("at"),
        sa.Column("endpoint", sa.String(length=100), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("posts_read", sa.Integer(), nullable=False),
        sa.Column("users_read", sa.Integer(), nullable=False),
        sa.Column("posts_created", sa.Integer(), nullable=False),
        sa.Column("usd", sa.Numeric(precision=12, scale=6), nullable=False),
        sa.Column("rate_limit", sa.Integer(), nullable=True),
        sa.Column("rate_remaining", sa.Integer(), nullable=True),
        _when("rate_reset", nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_x_usage")),
    )
    op.create_index("ix_x_usage_at", "x_usage", ["at"])


def downgrade() -> None:
    # Dependents first; dropping a table drops its indexes.
    for table in ("x_usage", "actions", "draft_events", "drafts", "chat_posts", "chat_runs"):
        op.drop_table(table)
