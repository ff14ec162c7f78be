"""The store: opening SQLite and Postgres, migrations, the models, time zones and the unique guards."""

from __future__ import annotations

import multiprocessing
import socket
import sqlite3
from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from multiprocessing.synchronize import Barrier
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError

from bot.errors import StoreError
from bot.store import (
    DEFAULT_DATABASE_URL,
    Action,
    Base,
    ChatPost,
    ChatRun,
    Draft,
    DraftKind,
    Store,
    XUsage,
    current_revision,
    head_revision,
    normalize_url,
    open_store,
    upgrade,
)
from bot.store.db import alembic_config
from tests.fixtures.db import NOW, make_draft, make_run

TABLES = {
    "chat_runs",
    "chat_posts",
    "drafts",
    "draft_events",
    "actions",
    "x_usage",
    "opt_outs",
    "policy_locks",
}


def _post(run: ChatRun, tweet_id: str, **fields: object) -> ChatPost:
    values: dict[str, object] = {
        "run_id": run.id,
        "tweet_id": tweet_id,
        "author_id": "42",
        "author_username": "host",
        "text": "Q1 What keeps you going? #xchat",
        "created_at": NOW,
        "read_at": NOW,
    }
    values.update(fields)
    return ChatPost(**values)


def _table_names(store: Store) -> set[str]:
    return set(inspect(store.engine).get_table_names())


# --- migrations -------------------------------------------------------------------------------------


def test_upgrade_from_empty_creates_every_table(db_url: str) -> None:
    with Store(db_url) as store:
        assert store.current_revision() is None
        assert _table_names(store) == set()

        store.upgrade()

        assert _table_names(store) == TABLES | {"alembic_version"}
        assert store.current_revision() == head_revision() == "0003"


def test_upgrade_twice_keeps_the_data_and_the_revision(store: Store) -> None:
    with store.session() as session:
        make_run(session)

    store.upgrade()
    upgrade(store.url)

    assert current_revision(store.url) == head_revision()
    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ChatRun)) == 1


def test_models_and_migrations_agree(store: Store) -> None:
    with store.engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        differences = compare_metadata(context, Base.metadata)

    assert differences == []


def test_downgrade_to_base_removes_the_tables_and_upgrade_restores_them(store: Store) -> None:
    with store.engine.begin() as connection:
        command.downgrade(alembic_config(connection), "base")
    assert _table_names(store) == {"alembic_version"}
    assert store.current_revision() is None

    store.upgrade()
    assert _table_names(store) == TABLES | {"alembic_version"}


@pytest.mark.postgres
def test_postgres_tables_land_in_the_test_schema(postgres_db_url: str) -> None:
    upgrade(postgres_db_url)

    with Store(postgres_db_url) as store, store.engine.connect() as connection:
        schema = connection.scalar(text("SELECT current_schema()"))
        tables = connection.scalars(
            text("SELECT table_name FROM information_schema.tables WHERE table_schema = :schema"),
            {"schema": schema},
        ).all()
    assert str(schema).startswith("t_")
    assert set(tables) == TABLES | {"alembic_version"}


def test_open_store_auto_upgrade_migrates_sqlite(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fresh.db'}"

    with open_store(url, auto_upgrade=True) as store:
        assert store.current_revision() == head_revision()
        assert _table_names(store) >= TABLES


def _start_worker(url: str, start: Barrier) -> None:
    start.wait(timeout=10)
    open_store(url, auto_upgrade=True).dispose()


def test_processes_starting_together_on_a_new_sqlite_file_all_succeed(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    processes = multiprocessing.get_context("fork")  # children share the imports: fast to start
    start = processes.Barrier(3)
    starters = [processes.Process(target=_start_worker, args=(url, start)) for _ in range(3)]
    for starter in starters:
        starter.start()
    for starter in starters:
        starter.join(timeout=30)

    assert [starter.exitcode for starter in starters] == [0, 0, 0]
    assert current_revision(url) == head_revision()
    with sqlite3.connect(tmp_path / "shared.db") as raw:
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


@pytest.mark.postgres
def test_open_store_auto_upgrade_refuses_a_postgres_database_that_is_behind(postgres_db_url: str) -> None:
    with pytest.raises(StoreError, match=r"revision none \(empty\).*run `chatcaddy db upgrade`"):
        open_store(postgres_db_url, auto_upgrade=True)

    upgrade(postgres_db_url)
    with open_store(postgres_db_url, auto_upgrade=True) as store:
        assert store.current_revision() == head_revision()


# --- engine and URLs --------------------------------------------------------------------------------


def test_default_url_is_a_sqlite_file_in_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)

    with open_store(DEFAULT_DATABASE_URL, auto_upgrade=True):
        pass

    assert (tmp_path / "chatcaddy.db").is_file()


@pytest.mark.parametrize("scheme", ["postgres", "postgresql", "postgresql+psycopg"])
def test_postgres_urls_use_psycopg_3(scheme: str) -> None:
    url = normalize_url(f"{scheme}://bot:pw@db.example:5432/chatcaddy")

    assert url.drivername == "postgresql+psycopg"
    assert (url.host, url.port, url.database, url.password) == ("db.example", 5432, "chatcaddy", "pw")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("chatcaddy.db", "DATABASE_URL is not a database URL"),
        ("mysql://u:pw@host/db", "DATABASE_URL uses 'mysql'"),
        ("postgresql+psycopg2://u:pw@host/db", "DATABASE_URL uses 'postgresql\\+psycopg2'"),
    ],
)
def test_unusable_urls_are_refused_clearly(url: str, message: str) -> None:
    with pytest.raises(StoreError, match=message) as caught:
        Store(url)
    assert "pw" not in str(caught.value)


def test_a_sqlite_file_in_a_missing_folder_is_refused_clearly(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"folder of the SQLite database .* does not exist"):
        Store(f"sqlite:///{tmp_path / 'nowhere' / 'chatcaddy.db'}")


def test_the_password_never_shows(tmp_path: Path) -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    store = Store(f"postgresql://bot:s3cret-pw@127.0.0.1:{port}/chatcaddy?connect_timeout=2")

    with pytest.raises(StoreError) as upgrading:
        store.upgrade()
    with pytest.raises(StoreError) as reading, store.session() as session:
        session.scalars(select(Draft)).all()

    assert "s3cret-pw" not in repr(store)
    for caught in (upgrading, reading):
        assert "s3cret-pw" not in str(caught.value)
        assert f"postgresql+psycopg://bot:***@127.0.0.1:{port}/chatcaddy" in str(caught.value)
    assert str(reading.value).startswith("could not use the database at")
    store.dispose()


def test_sqlite_runs_in_wal_mode_with_a_busy_timeout_and_foreign_keys(sqlite_store: Store) -> None:
    with sqlite_store.engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 5000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    database = sqlite_store.url.database
    assert database is not None
    with sqlite3.connect(database) as raw:  # WAL is a property of the file, seen by any client
        assert raw.execute("PRAGMA journal_mode").fetchone() == ("wal",)


def test_sqlite_readers_are_not_blocked_by_a_writer(sqlite_store: Store) -> None:
    with sqlite_store.session() as writer:
        make_run(writer)  # holds the write lock until the block ends
        with sqlite_store.session() as reader:
            assert reader.scalar(select(func.count()).select_from(ChatRun)) == 0
    with sqlite_store.session() as reader:
        assert reader.scalar(select(func.count()).select_from(ChatRun)) == 1


def test_foreign_keys_are_enforced(store: Store) -> None:
    with pytest.raises(IntegrityError), store.session() as session:
        session.add(_post(ChatRun(id=999), "1"))
        session.flush()


# --- sessions ---------------------------------------------------------------------------------------


def test_session_commits_on_success_and_rolls_back_on_error(store: Store) -> None:
    with store.session() as session:
        make_run(session, chat_slug="kept")
    with pytest.raises(RuntimeError), store.session() as session:
        make_run(session, chat_slug="undone")
        raise RuntimeError("boom")

    with store.session() as session:
        assert session.scalars(select(ChatRun.chat_slug)).all() == ["kept"]


def test_objects_stay_readable_after_the_session(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session, text="A2: keep going")

    assert (draft.id, draft.text, draft.created_at) == (1, "A2: keep going", NOW)


# --- time zones and numbers -------------------------------------------------------------------------


def test_times_come_back_as_aware_utc(store: Store) -> None:
    india = timezone(timedelta(hours=5, minutes=30))
    start = datetime(2026, 11, 24, 2, 30, 15, 123456, tzinfo=india)  # 21:00:15.123456 UTC the day before
    with store.session() as session:
        make_run(session, start=start)

    with store.session() as session:
        if not store.is_sqlite:  # Postgres hands timestamptz back in the session's zone
            session.execute(text("SET TIME ZONE 'America/Los_Angeles'"))
        run = session.scalars(select(ChatRun)).one()

    assert run.window_start == datetime(2026, 11, 23, 21, 0, 15, 123456, tzinfo=UTC)
    assert run.window_start.tzinfo is UTC
    assert run.window_end.tzinfo is UTC


def test_time_filters_compare_instants_not_wall_clocks(store: Store) -> None:
    with store.session() as session:
        make_run(session, start=NOW)  # 21:00 UTC
        just_after_in_paris = (NOW + timedelta(seconds=1)).astimezone(timezone(timedelta(hours=1)))
        found = session.scalars(select(ChatRun).where(ChatRun.window_start < just_after_in_paris)).all()

    assert len(found) == 1


def test_naive_times_are_refused(store: Store) -> None:
    with pytest.raises(StatementError, match="naive datetime"), store.session() as session:
        make_run(session, start=datetime(2026, 11, 23, 21, 0))


def test_usage_keeps_exact_dollars(store: Store) -> None:
    with store.session() as session:
        session.add(XUsage(at=NOW, endpoint="GET /2/tweets/search/recent", status=200, usd=Decimal("0.005")))
    with store.session() as session:
        usage = session.scalars(select(XUsage)).one()

    assert usage.usd == Decimal("0.005")
    assert (usage.posts_read, usage.users_read, usage.posts_created) == (0, 0, 0)


# --- unique guards ----------------------------------------------------------------------------------


def test_the_same_post_is_stored_once_per_run(store: Store) -> None:
    with store.session() as session:
        run = make_run(session)
        other_run = make_run(session, start=NOW + timedelta(days=7))
        session.add_all([_post(run, "1860000000000000001"), _post(other_run, "1860000000000000001")])

    with pytest.raises(IntegrityError), store.session() as session:
        session.add(_post(run, "1860000000000000001"))

    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(ChatPost)) == 2


def test_a_chat_has_one_run_per_window(store: Store) -> None:
    with store.session() as session:
        make_run(session)
    with pytest.raises(IntegrityError), store.session() as session:
        make_run(session)


def test_one_draft_per_target_and_kind_in_a_run(store: Store) -> None:
    with store.session() as session:
        run = make_run(session)
        make_draft(session, run=run, kind=DraftKind.REPLY, target_tweet_id="7")
        make_draft(session, run=run, kind=DraftKind.LIKE, target_tweet_id="7")  # another kind: fine
        make_draft(session, run=run, kind=DraftKind.POST)  # no target, twice: fine
        make_draft(session, run=run, kind=DraftKind.POST)

    with pytest.raises(IntegrityError), store.session() as session:
        make_draft(session, run=run, kind=DraftKind.REPLY, target_tweet_id="7")

    with store.session() as session:
        assert session.scalar(select(func.count()).select_from(Draft)) == 4


def test_the_ledger_records_a_draft_at_most_once(store: Store) -> None:
    with store.session() as session:
        draft = make_draft(session)
        session.add(Action(kind="answer", chat_slug="xchat", draft_id=draft.id, x_post_id="9", at=NOW))
        # Actions without a draft (a person's own like, say) are not limited.
        session.add(Action(kind="like", chat_slug="xchat", at=NOW, via="handoff"))
        session.add(Action(kind="like", chat_slug="xchat", at=NOW, via="handoff"))

    with pytest.raises(IntegrityError), store.session() as session:
        session.add(Action(kind="answer", chat_slug="xchat", draft_id=draft.id, x_post_id="10", at=NOW))

    with store.session() as session:
        assert session.scalars(select(Action.x_post_id).where(Action.draft_id == draft.id)).all() == ["9"]
