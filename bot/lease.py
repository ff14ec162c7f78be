"""Leases: which chat runs this worker reads, and whether it is the one that posts.

On Postgres several workers may run. Each holds session-level advisory locks on one dedicated connection:
a run's lock for each run it reads, and one publisher lock. When a worker dies its connection closes, the
server frees its locks at once, and another worker takes the runs over on its next tick, from the cursor
in the database. SQLite is for one worker: every lease is granted.
"""

from __future__ import annotations

import weakref
import zlib
from collections.abc import Iterable

import structlog
from sqlalchemy import Connection, text
from sqlalchemy.exc import DBAPIError

from bot.store.db import Store

log = structlog.get_logger("bot.lease")


def _namespace(name: str, schema: str) -> int:
    """An advisory-lock namespace (a positive int4). Advisory locks are per database, not per schema: the
    schema is part of the key, so installations (and test schemas) sharing a database don't collide."""
    return zlib.crc32(f"chatcaddy:{name}:{schema}".encode()) & 0x7FFFFFFF


class Leases:
    def __init__(self, store: Store) -> None:
        self.store = store
        self.shared = not store.is_sqlite
        self._connection: Connection | None = None
        self._runs: set[int] = set()
        self._publisher = False

    def runs(self, run_ids: Iterable[int]) -> list[int]:
        """The runs among `run_ids` this worker holds, taking the free ones."""
        ids = list(run_ids)
        if not self.shared:
            return ids
        return [run_id for run_id in ids if run_id in self._runs or self._try("runs", run_id, self._runs)]

    def publisher(self) -> bool:
        """Whether this worker is the one that posts."""
        if not self.shared or self._publisher:
            return True
        self._publisher = self._try_lock("publisher", 0)
        return self._publisher

    def release(self) -> None:
        """Free every lease (at shutdown: the others take over at once instead of at our death)."""
        if self._connection is not None:
            self._connection.close()
        self._connection = None
        self._runs.clear()
        self._publisher = False

    def _try(self, space: str, key: int, held: set[int]) -> bool:
        if self._try_lock(space, key):
            held.add(key)
            log.info("lease.taken", run=key)
            return True
        return False

    def _try_lock(self, space: str, key: int) -> bool:
        try:
            connection = self._connect()
            schema = str(connection.scalar(text("SELECT current_schema()")))
            taken = connection.scalar(
                text("SELECT pg_try_advisory_lock(:space, :key)"),
                {"space": _namespace(space, schema), "key": key},
            )
            connection.commit()
            return bool(taken)
        except DBAPIError:
            # The lock connection broke: whatever we held is gone with it; start again next tick.
            log.warning("lease.connection_lost")
            self._connection = None
            self._runs.clear()
            self._publisher = False
            return False

    def _connect(self) -> Connection:
        if self._connection is None or self._connection.closed:
            self._connection = self.store.engine.connect()
            # A worker dropped without `release` (a test's "crashed" worker) still hands its connection
            # back when it is collected, which frees its locks, as a dead process's closed socket does.
            weakref.finalize(self, self._connection.close)
        return self._connection
