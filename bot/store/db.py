"""Opening the database: the engine (SQLite or Postgres), transactional sessions, and Alembic migrations.

    store = open_store("sqlite:///chatcaddy.db", auto_upgrade=True)
    with store.session() as session:      # commits when the block ends, rolls back if it raises
        session.add(...)
    store.dispose()

SQLite (the default, a file in the working directory) runs in WAL mode with a busy timeout and foreign
keys on, so the worker and the web UI can share the file. Postgres is reached through psycopg 3; any
`postgres://` or `postgresql://` URL is mapped to `postgresql+psycopg://`.

Migrations are Alembic's, configured here in code (no alembic.ini): `upgrade(url)` brings a database to
the newest revision. The worker upgrades a SQLite file by itself; a Postgres database is upgraded by
`chatcaddy db upgrade`, and a worker refuses to start on one that is behind.

Database URLs may carry a password: only `display_url` (password hidden) goes into messages and logs.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import URL, Connection, Engine, create_engine, event, make_url
from sqlalchemy.exc import ArgumentError, OperationalError
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import StaticPool

from bot.errors import StoreError

DEFAULT_DATABASE_URL = "sqlite:///chatcaddy.db"
MIGRATIONS_DIR = Path(__file__).resolve().with_name("migrations")
SQLITE_BUSY_TIMEOUT_MS = 5000
IN_CHUNK = 500  # values per `IN (...)` list: well within SQLite's bound parameters
T = TypeVar("T")

_URL_HELP = "expected sqlite:///path/to/chatcaddy.db or postgresql://user:password@host:5432/dbname"
_POSTGRES_DRIVERS = {"postgres", "postgresql", "postgresql+psycopg"}
_SQLITE_DRIVERS = {"sqlite", "sqlite+pysqlite"}


def in_chunks(values: Sequence[T], size: int = IN_CHUNK) -> Iterator[Sequence[T]]:
    """`values` in slices small enough for one `IN (...)` each: a query per slice, not one per value."""
    for start in range(0, len(values), size):
        yield values[start : start + size]


def normalize_url(url: str | URL) -> URL:
    """Parse a DATABASE_URL and pin its driver (psycopg 3 for Postgres); `StoreError` if it is not usable."""
    try:
        parsed = make_url(url)
    except ArgumentError:
        raise StoreError(f"DATABASE_URL is not a database URL; {_URL_HELP}") from None
    if parsed.drivername in _POSTGRES_DRIVERS:
        return parsed.set(drivername="postgresql+psycopg")
    if parsed.drivername in _SQLITE_DRIVERS:
        return parsed
    raise StoreError(
        f"DATABASE_URL uses {parsed.drivername!r}, which chatcaddy does not support; {_URL_HELP}"
    )


def display_url(url: str | URL) -> str:
    """The URL as it may appear in a message or a log line: the password replaced by ***."""
    return make_url(url).render_as_string(hide_password=True)


def is_sqlite(url: URL) -> bool:
    return url.get_backend_name() == "sqlite"


def _is_sqlite_memory(url: URL) -> bool:
    return url.database in (None, "", ":memory:")


def _configure_sqlite_connection(dbapi_connection: sqlite3.Connection, _record: object) -> None:
    """Runs on every new SQLite connection: these settings are per connection (WAL sticks to the file)."""
    cursor = dbapi_connection.cursor()
    try:
        cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
        _use_wal(cursor)
        cursor.execute("PRAGMA synchronous = NORMAL")  # durable enough in WAL mode, and much faster
        cursor.execute("PRAGMA foreign_keys = ON")
    finally:
        cursor.close()


def _use_wal(cursor: sqlite3.Cursor) -> None:
    """Put the file in WAL mode, so readers and the one writer do not block each other.

    Switching needs an exclusive lock, and SQLite answers "locked" at once (no busy wait) when another
    connection holds one. Every chatcaddy connection switches before it takes any lock, so whoever holds
    it has already put the file in WAL mode: carry on.
    """
    try:
        cursor.execute("PRAGMA journal_mode = WAL")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise


def create_store_engine(url: str | URL) -> Engine:
    """An engine set up for chatcaddy: the SQLite pragmas, or a pre-pinging Postgres pool."""
    url = normalize_url(url)
    if not is_sqlite(url):
        return create_engine(url, pool_pre_ping=True)
    if _is_sqlite_memory(url):
        # One shared connection, or every session would see its own empty database. Tests only.
        engine = create_engine(url, connect_args={"check_same_thread": False}, poolclass=StaticPool)
    else:
        _require_sqlite_folder(url)
        engine = create_engine(url, connect_args={"check_same_thread": False})
    event.listen(engine, "connect", _configure_sqlite_connection)
    return engine


def _require_sqlite_folder(url: URL) -> None:
    folder = Path(str(url.database)).expanduser().resolve().parent
    if not folder.is_dir():
        raise StoreError(f"the folder of the SQLite database in DATABASE_URL does not exist: {folder}")


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's configuration, built in code; `connection` (when given) is the one migrations run on."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.set_main_option("path_separator", "os")
    if connection is not None:
        config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    """The newest migration this version of chatcaddy knows."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships migrations
        raise StoreError(f"no migrations found in {MIGRATIONS_DIR}")
    return head


@contextmanager
def _database_errors(url: URL, doing: str) -> Iterator[None]:
    """Turn "cannot reach / cannot lock the database" into a `StoreError` that shows no password."""
    try:
        yield
    except OperationalError as exc:
        reason = str(exc.orig).strip().splitlines()[0] if exc.orig is not None else type(exc).__name__
        raise StoreError(f"could not {doing} the database at {display_url(url)}: {reason}") from exc


class Store:
    """The database chatcaddy keeps its state in: an engine plus a session factory."""

    def __init__(self, url: str | URL = DEFAULT_DATABASE_URL) -> None:
        self.url = normalize_url(url)
        self.engine = create_store_engine(self.url)
        self._sessions = sessionmaker(bind=self.engine, expire_on_commit=False)

    @property
    def display_url(self) -> str:
        return display_url(self.url)

    @property
    def is_sqlite(self) -> bool:
        return is_sqlite(self.url)

    def __repr__(self) -> str:
        return f"Store({self.display_url!r})"

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session in a transaction: committed when the block ends, rolled back if it raises.

        Objects stay usable after the block (no expiry on commit), but lazy relationships must be
        loaded inside it.
        """
        with _database_errors(self.url, "use"), self._sessions.begin() as session:
            yield session

    def upgrade(self, revision: str = "head") -> None:
        """Apply every migration up to `revision` (newest by default); a no-op when already there."""
        with _database_errors(self.url, "upgrade"), self.engine.begin() as connection:
            if self.is_sqlite:
                # Take the write lock first: the migration is then one transaction, and a process that
                # starts at the same moment waits for it, then finds nothing left to do.
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            command.upgrade(alembic_config(connection), revision)

    def current_revision(self) -> str | None:
        """The revision the database is at; None for a database never migrated."""
        with _database_errors(self.url, "read the revision of"), self.engine.connect() as connection:
            return MigrationContext.configure(connection).get_current_revision()

    def require_up_to_date(self) -> None:
        """`StoreError` telling what to run when the database is not at this version's newest revision."""
        current, head = self.current_revision(), head_revision()
        if current != head:
            raise StoreError(
                f"the database at {self.display_url} is at revision {current or 'none (empty)'}, "
                f"this chatcaddy needs {head}: run `chatcaddy db upgrade`"
            )

    def dispose(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.dispose()


def open_store(url: str | URL = DEFAULT_DATABASE_URL, *, auto_upgrade: bool = False) -> Store:
    """Open the database at `url`.

    With `auto_upgrade`, a SQLite database is migrated to the newest revision on the spot, and a
    Postgres one must already be there (`chatcaddy db upgrade` does that), else `StoreError`.
    """
    store = Store(url)
    if auto_upgrade:
        try:
            if store.is_sqlite:
                store.upgrade()
            else:
                store.require_up_to_date()
        except BaseException:
            store.dispose()
            raise
    return store


def upgrade(url: str | URL, revision: str = "head") -> None:
    """Migrate the database at `url` to `revision` (newest by default): `chatcaddy db upgrade`."""
    with Store(url) as store:
        store.upgrade(revision)


def current_revision(url: str | URL) -> str | None:
    """The revision the database at `url` is at, None when it was never migrated."""
    with Store(url) as store:
        return store.current_revision()
