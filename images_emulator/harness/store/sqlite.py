"""The store the worker processes of one server share: an SQLite file in WAL mode (no server needed).

Reads run inline on the process's own connection (WAL readers never wait). Writes are queued and
applied on the event loop once per loop iteration: whatever queued up meanwhile shares one transaction
(group commit), under an exclusive file lock, so the processes take turns without SQLite's sleeping
busy-retry. Every read-modify-write runs inside that transaction, atomic across the processes. A
transaction is short (the journal stores a batch per 10 ms, harness/shared_journal.py), so the loop
waits on the file less than it would hand work to a thread and back: a writer thread made every
statement a GIL handoff with the loop, and cost more than the writes.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import mmap
import os
import sqlite3
import struct
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from images_emulator.harness.store import codec
from images_emulator.harness.store.backend import Change, LogMark, LogWrite, R

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS log (log TEXT NOT NULL, id TEXT NOT NULL, at REAL NOT NULL, item TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS log_order ON log (log, at);
CREATE TABLE IF NOT EXISTS marks (
    log TEXT NOT NULL, process TEXT NOT NULL, announced INTEGER NOT NULL, flushed INTEGER NOT NULL,
    at REAL NOT NULL, PRIMARY KEY (log, process)
);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, expires REAL NOT NULL);
"""
SCHEMA_VERSION = 4  # 4: the log ordered by `at`, no index on ids (an older file has its log table made again)
MARK = (
    "INSERT INTO marks (log, process, announced, flushed, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT (log, process) "
    "DO UPDATE SET announced = max(announced, excluded.announced), flushed = max(flushed, excluded.flushed), "
    "at = excluded.at"
)
# An item is inserted once, by the one process that handled its request, then at most replaced. No index
# on the (random) ids: it would scatter every batch over many pages; a replacement finds its row by `at`.
INSERT = "INSERT INTO log (log, id, at, item) VALUES (?, ?, ?, ?)"
REPLACE = "UPDATE log SET item = ? WHERE log = ? AND at = ? AND id = ?"
MAX_BATCH = 256  # writes applied in one transaction at most
TRIM_EVERY = 64  # log items added by a process between two trims, at least


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


def migrate(db: sqlite3.Connection) -> None:
    """The schema, made or brought to SCHEMA_VERSION in one transaction (workers may start together)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        if db.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
            db.execute("DROP TABLE IF EXISTS log")
            db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        for statement in SCHEMA.split(";"):
            if statement.strip():
                db.execute(statement)
        db.execute("COMMIT")
    except BaseException:
        db.execute("ROLLBACK")
        raise


@dataclass
class Write:
    """One write for the writer thread: `apply(db)` inside the batch's transaction."""

    apply: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] | None = None  # None: nobody waits for it
    trims: tuple[str, int] | None = None  # (log, limit): trim that log after the batch
    changes_values: bool = False  # writes the kv table: the version is bumped after the commit
    outcome: tuple[Any, BaseException | None] = field(default=(None, None))


class Version:
    """A counter in a small file every process maps: bumped after each transaction that changed a value,
    so that a process reads a value again only when some process has changed one (every request reads
    the scheduled faults; almost none change them)."""

    def __init__(self, path: Path) -> None:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if os.fstat(fd).st_size < 8:
                os.ftruncate(fd, 8)
            self._map = mmap.mmap(fd, 8)
        finally:
            os.close(fd)

    def get(self) -> int:
        return int(struct.unpack_from("<Q", self._map)[0])

    def bump(self) -> None:
        """Under the write lock (one writer at a time)."""
        struct.pack_into("<Q", self._map, 0, self.get() + 1)

    def close(self) -> None:
        self._map.close()


class Writer:
    """Batches of writes, one transaction each, under the file lock, applied on the event loop."""

    def __init__(self, path: Path, version: Version) -> None:
        self._version = version
        self._db = connect(path)
        self._lock_file = open(f"{path}.lock", "a")  # noqa: SIM115  # held for the writer's life
        self._pending: list[Write] = []
        self._scheduled = False

    def submit(self, write: Write) -> None:
        """Queue `write` for this loop iteration's transaction (outside a loop: apply it now)."""
        self._pending.append(write)
        if self._scheduled:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self._drain()
            return
        self._scheduled = True
        loop.call_soon(self._drain)

    async def call(
        self,
        apply: Callable[[sqlite3.Connection], R],
        *,
        changes_values: bool = False,
        trims: tuple[str, int] | None = None,
    ) -> R:
        """`apply(db)` in the writer's next transaction; its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.submit(Write(apply, future, trims=trims, changes_values=changes_values))
        return await future

    def close(self) -> None:
        self._drain()
        self._db.close()
        self._lock_file.close()

    def _drain(self) -> None:
        self._scheduled = False
        while self._pending:
            batch, self._pending = self._pending[:MAX_BATCH], self._pending[MAX_BATCH:]
            self._apply(batch)
            _settle(batch)

    def _apply(self, batch: list[Write]) -> None:
        db = self._db
        fcntl.flock(self._lock_file, fcntl.LOCK_EX)
        try:
            db.execute("BEGIN IMMEDIATE")
            trims: dict[str, int] = {}
            for write in batch:
                db.execute("SAVEPOINT one")
                try:
                    write.outcome = (write.apply(db), None)
                    db.execute("RELEASE one")
                except Exception as exc:  # this write fails alone; the batch goes on
                    db.execute("ROLLBACK TO one")
                    db.execute("RELEASE one")
                    write.outcome = (None, exc)
                if write.trims is not None:
                    trims[write.trims[0]] = write.trims[1]
            for log, limit in trims.items():
                db.execute(
                    "DELETE FROM log WHERE log = ? AND rowid IN "
                    "(SELECT rowid FROM log WHERE log = ? ORDER BY at DESC, rowid DESC LIMIT -1 OFFSET ?)",
                    (log, log, limit),
                )
            db.execute("COMMIT")
            if any(write.changes_values for write in batch):
                self._version.bump()
        except Exception as exc:  # the transaction itself failed (disk full, ...): every write did
            if db.in_transaction:
                db.execute("ROLLBACK")
            for write in batch:
                write.outcome = (None, exc)
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)


def _settle(writes: list[Write]) -> None:
    for write in writes:
        future = write.future
        if future is None or future.done():
            continue
        value, error = write.outcome
        if error is not None:
            future.set_exception(error)
        else:
            future.set_result(value)


MAX_CACHED_VALUES = 1024  # values a process keeps between changes (rate-limit windows: one per API key)
SWEEP_EVERY = 256  # writes of values with a lifetime between two deletions of the expired ones


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: Path, blob_bytes: int = 16 * 1024 * 1024) -> None:
        self.url = f"sqlite:///{path}"
        self._blob_limit = blob_bytes
        self._db = connect(path)
        self._lock = threading.Lock()  # the reading connection, shared by the loop and threads
        self._expiring_writes = itertools.count(1)
        self._added = 0  # log items this process added since it last trimmed
        with self._lock:
            migrate(self._db)
        self._version = Version(Path(f"{path}.version"))
        self._cache: dict[str, tuple[int, str | None, float | None]] = {}  # key → (version, value, expires)
        self._writer = Writer(path, self._version)

    async def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1")

    async def close(self) -> None:
        self._writer.close()
        with self._lock:
            self._db.close()
        self._version.close()

    def watch(self, key: str) -> None:
        return None

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        def apply(db: sqlite3.Connection) -> R:
            now = time.time()
            row = db.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, now)
            ).fetchone()
            new, result = change(json.loads(row[0]) if row else None)
            if new is None:
                db.execute("DELETE FROM kv WHERE key = ?", (key,))
            else:
                expires = now + ttl if ttl is not None else None
                db.execute(
                    "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)", (key, json.dumps(new), expires)
                )
                if ttl is not None and next(self._expiring_writes) % SWEEP_EVERY == 0:
                    db.execute("DELETE FROM kv WHERE expires <= ?", (now,))  # windows of keys not seen again
            return result

        return await self._writer.call(apply, changes_values=True)

    async def read(self, key: str) -> Any:
        version = self._version.get()
        cached = self._cache.get(key)
        if cached is None or cached[0] != version:
            with self._lock:
                row = self._db.execute("SELECT value, expires FROM kv WHERE key = ?", (key,)).fetchone()
            if len(self._cache) >= MAX_CACHED_VALUES:
                self._cache.clear()
            cached = self._cache[key] = (version, *(row or (None, None)))
        _, value, expires = cached
        if value is None or (expires is not None and expires <= time.time()):
            return None
        return json.loads(value)

    async def delete_prefix(self, prefix: str) -> None:
        await self._writer.call(
            lambda db: db.execute("DELETE FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix)),
            changes_values=True,
        )

    async def log_put(
        self, log: str, writes: Sequence[LogWrite], limit: int, mark: tuple[str, int] | None = None
    ) -> None:
        # Runs of inserts (and of replacements) each in one executemany, in the order given.
        runs: list[tuple[str, list[tuple[Any, ...]]]] = [
            (INSERT, [(log, w.id, w.at, codec.dumps(w.item)) for w in group])
            if insert
            else (REPLACE, [(codec.dumps(w.item), log, w.at, w.id) for w in group])
            for insert, group in itertools.groupby(writes, key=lambda write: write.insert)
        ]

        def apply(db: sqlite3.Connection) -> None:
            for statement, rows in runs:
                db.executemany(statement, rows)
            if mark is not None:
                db.execute(MARK, (log, mark[0], mark[1], mark[1], time.time()))

        # The log is trimmed to `limit` once this process has added a tenth of it (reads take the newest
        # `limit`): trimming is a scan of the index, too much for every batch.
        self._added += len(writes)
        trims = None
        if self._added >= max(TRIM_EVERY, limit // 10):
            self._added, trims = 0, (log, limit)
        await self._writer.call(apply, trims=trims)

    async def log_announce(self, log: str, process: str, announced: int) -> None:
        await self._writer.call(lambda db: db.execute(MARK, (log, process, announced, 0, time.time())))

    async def log_marks(self, log: str) -> list[LogMark]:
        with self._lock:
            query = "SELECT process, announced, flushed, at FROM marks WHERE log = ?"
            rows = self._db.execute(query, (log,)).fetchall()
        now = time.time()
        marks = [LogMark(process, announced, flushed, now - at) for process, announced, flushed, at in rows]
        forgotten = [(log, mark.process) for mark in marks if mark.forgotten]
        if forgotten:
            self._writer.submit(
                Write(lambda db: db.executemany("DELETE FROM marks WHERE log = ? AND process = ?", forgotten))
            )
        return [mark for mark in marks if not mark.forgotten]

    async def log_items(self, log: str, limit: int) -> list[dict[str, Any]]:
        await self._writer.call(lambda db: None)  # this process's queued writes first
        newest = "SELECT item, at, rowid AS n FROM log WHERE log = ? ORDER BY at DESC, n DESC LIMIT ?"
        with self._lock:
            rows = self._db.execute(f"SELECT item FROM ({newest}) ORDER BY at, n", (log, limit)).fetchall()
        return [codec.loads(row[0]) for row in rows]

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        def apply(db: sqlite3.Connection) -> int:
            return sum(
                db.execute("DELETE FROM log WHERE log = ? AND id = ?", (log, item_id)).rowcount for item_id in item_ids
            )

        return await self._writer.call(apply)

    async def blob_put(self, key: str, data: bytes, ttl: float) -> None:
        limit = self._blob_limit

        def apply(db: sqlite3.Connection) -> None:
            now = time.time()
            db.execute("DELETE FROM blobs WHERE expires <= ?", (now,))
            if len(data) <= limit:
                db.execute("INSERT OR REPLACE INTO blobs (key, data, expires) VALUES (?, ?, ?)", (key, data, now + ttl))
            # Bounded in bytes like the memory store: the soonest to expire go first.
            db.execute(
                "DELETE FROM blobs WHERE key IN (SELECT key FROM (SELECT key, SUM(length(data)) OVER "
                "(ORDER BY expires DESC) AS total FROM blobs) WHERE total > ?)",
                (limit,),
            )

        await self._writer.call(apply)

    async def blob_get(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM blobs WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return bytes(row[0]) if row else None
