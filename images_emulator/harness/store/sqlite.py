"""The store the worker processes of one server share: an SQLite file in WAL mode (no server needed).

Reads run inline on the process's own connection (WAL readers never wait). Writes go to one writer
thread per process, which applies whatever has queued up in one transaction (group commit: under
load a commit serves many requests) and holds an exclusive file lock around it, so the processes
take turns without SQLite's sleeping busy-retry. Every read-modify-write runs inside that
transaction, atomic across the processes. The event loop never waits on the file.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import json
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from images_emulator.harness.store.backend import Change, R

SCHEMA = """
CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL, expires REAL);
CREATE TABLE IF NOT EXISTS log (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, log TEXT NOT NULL, id TEXT NOT NULL, item TEXT NOT NULL,
    UNIQUE (log, id)
);
CREATE TABLE IF NOT EXISTS blobs (key TEXT PRIMARY KEY, data BLOB NOT NULL, expires REAL NOT NULL);
"""
MAX_BATCH = 256  # writes applied in one transaction at most


def connect(path: Path) -> sqlite3.Connection:
    db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    return db


@dataclass
class Write:
    """One write for the writer thread: `apply(db)` inside the batch's transaction."""

    apply: Callable[[sqlite3.Connection], Any]
    future: asyncio.Future[Any] | None = None  # None: nobody waits for it
    trims: tuple[str, int] | None = None  # (log, limit): trim that log after the batch
    outcome: tuple[Any, BaseException | None] = field(default=(None, None))


class Writer:
    """The writer thread: batches of writes, one transaction each, under the file lock."""

    def __init__(self, path: Path) -> None:
        self._db = connect(path)
        self._lock_file = open(f"{path}.lock", "a")  # noqa: SIM115  # held for the writer's life
        self._queue: queue.SimpleQueue[Write | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name="images-emulator-sqlite", daemon=True)
        self._thread.start()

    def submit(self, write: Write) -> None:
        self._queue.put(write)

    async def call(self, apply: Callable[[sqlite3.Connection], R]) -> R:
        """`apply(db)` in the writer's next transaction; its result."""
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self.submit(Write(apply, future))
        return await future

    def close(self) -> None:
        self._queue.put(None)
        self._thread.join(timeout=5)
        self._db.close()
        self._lock_file.close()

    def _run(self) -> None:
        while True:
            first = self._queue.get()
            if first is None:
                return
            batch = [first]
            while len(batch) < MAX_BATCH:
                try:
                    item = self._queue.get_nowait()
                except queue.Empty:
                    break
                if item is None:
                    self._queue.put(None)  # stop after this batch
                    break
                batch.append(item)
            self._apply(batch)
            self._resolve(batch)

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
                    "DELETE FROM log WHERE log = ? AND seq <= "
                    "(SELECT seq FROM log WHERE log = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                    (log, log, limit),
                )
            db.execute("COMMIT")
        except Exception as exc:  # the transaction itself failed (disk full, ...): every write did
            if db.in_transaction:
                db.execute("ROLLBACK")
            for write in batch:
                write.outcome = (None, exc)
        finally:
            fcntl.flock(self._lock_file, fcntl.LOCK_UN)

    @staticmethod
    def _resolve(batch: list[Write]) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[Write]] = {}
        for write in batch:
            if write.future is not None:
                by_loop.setdefault(write.future.get_loop(), []).append(write)
        for loop, writes in by_loop.items():
            with contextlib.suppress(RuntimeError):  # that loop is closed: nobody waits any more
                loop.call_soon_threadsafe(_settle, writes)


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


SWEEP_EVERY = 256  # writes of values with a lifetime between two deletions of the expired ones


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: Path, blob_bytes: int = 64 * 1024 * 1024) -> None:
        self.url = f"sqlite:///{path}"
        self._blob_limit = blob_bytes
        self._db = connect(path)
        self._lock = threading.Lock()  # the reading connection, shared by the loop and threads
        self._expiring_writes = itertools.count(1)
        with self._lock:
            self._db.executescript(SCHEMA)
        self._writer = Writer(path)

    async def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1")

    async def close(self) -> None:
        self._writer.close()
        with self._lock:
            self._db.close()

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

        return await self._writer.call(apply)

    async def read(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, time.time())
            ).fetchone()
        return json.loads(row[0]) if row else None

    async def delete_prefix(self, prefix: str) -> None:
        await self._writer.call(
            lambda db: db.execute("DELETE FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))
        )

    async def log_append(self, log: str, item_id: str, item: dict[str, Any], limit: int) -> None:
        """Queued, not awaited: the entry's finish (awaited) comes after it in the same queue."""
        text = json.dumps(item)
        self._writer.submit(
            Write(
                lambda db: db.execute(
                    "INSERT OR REPLACE INTO log (log, id, item) VALUES (?, ?, ?)", (log, item_id, text)
                ),
                trims=(log, limit),
            )
        )

    async def log_replace(self, log: str, item_id: str, item: dict[str, Any]) -> None:
        text = json.dumps(item)
        await self._writer.call(
            lambda db: db.execute("UPDATE log SET item = ? WHERE log = ? AND id = ?", (text, log, item_id))
        )

    async def log_items(self, log: str) -> list[dict[str, Any]]:
        await self._writer.call(lambda db: None)  # this process's queued writes first
        with self._lock:
            rows = self._db.execute("SELECT item FROM log WHERE log = ? ORDER BY seq", (log,)).fetchall()
        return [json.loads(row[0]) for row in rows]

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
