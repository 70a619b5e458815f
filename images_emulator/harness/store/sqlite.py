"""The store the worker processes of one server share: an SQLite file in WAL mode (no server needed).

Each process opens its own connection; a write transaction (`BEGIN IMMEDIATE`) makes every
read-modify-write atomic across them. Calls are short (well under a millisecond) and run inline.
"""

from __future__ import annotations

import json
import sqlite3
import threading
import time
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


class SqliteBackend:
    kind = "sqlite"

    def __init__(self, path: Path, blob_bytes: int = 64 * 1024 * 1024) -> None:
        self.url = f"sqlite:///{path}"
        self._blob_limit = blob_bytes
        self._db = sqlite3.connect(path, timeout=10, isolation_level=None, check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.executescript(SCHEMA)

    async def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1")

    async def close(self) -> None:
        with self._lock:
            self._db.close()

    async def update(self, key: str, change: Change[R], ttl: float | None = None) -> R:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                now = time.time()
                row = self._db.execute(
                    "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, now)
                ).fetchone()
                new, result = change(json.loads(row[0]) if row else None)
                if new is None:
                    self._db.execute("DELETE FROM kv WHERE key = ?", (key,))
                else:
                    expires = now + ttl if ttl is not None else None
                    self._db.execute(
                        "INSERT OR REPLACE INTO kv (key, value, expires) VALUES (?, ?, ?)",
                        (key, json.dumps(new), expires),
                    )
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            return result

    async def read(self, key: str) -> Any:
        with self._lock:
            row = self._db.execute(
                "SELECT value FROM kv WHERE key = ? AND (expires IS NULL OR expires > ?)", (key, time.time())
            ).fetchone()
        return json.loads(row[0]) if row else None

    async def delete_prefix(self, prefix: str) -> None:
        with self._lock:
            self._db.execute("DELETE FROM kv WHERE substr(key, 1, ?) = ?", (len(prefix), prefix))

    async def log_append(self, log: str, item_id: str, item: dict[str, Any], limit: int) -> None:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute(
                "INSERT OR REPLACE INTO log (log, id, item) VALUES (?, ?, ?)", (log, item_id, json.dumps(item))
            )
            self._db.execute(
                "DELETE FROM log WHERE log = ? AND seq <= "
                "(SELECT seq FROM log WHERE log = ? ORDER BY seq DESC LIMIT 1 OFFSET ?)",
                (log, log, limit),
            )
            self._db.execute("COMMIT")

    async def log_replace(self, log: str, item_id: str, item: dict[str, Any]) -> None:
        with self._lock:
            self._db.execute("UPDATE log SET item = ? WHERE log = ? AND id = ?", (json.dumps(item), log, item_id))

    async def log_items(self, log: str) -> list[dict[str, Any]]:
        with self._lock:
            rows = self._db.execute("SELECT item FROM log WHERE log = ? ORDER BY seq", (log,)).fetchall()
        return [json.loads(row[0]) for row in rows]

    async def log_remove(self, log: str, item_ids: list[str]) -> int:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            removed = sum(
                self._db.execute("DELETE FROM log WHERE log = ? AND id = ?", (log, item_id)).rowcount
                for item_id in item_ids
            )
            self._db.execute("COMMIT")
        return removed

    async def blob_put(self, key: str, data: bytes, ttl: float) -> None:
        with self._lock:
            now = time.time()
            self._db.execute("BEGIN IMMEDIATE")
            self._db.execute("DELETE FROM blobs WHERE expires <= ?", (now,))
            if len(data) <= self._blob_limit:
                self._db.execute(
                    "INSERT OR REPLACE INTO blobs (key, data, expires) VALUES (?, ?, ?)", (key, data, now + ttl)
                )
            # Bounded in bytes like the memory store: the soonest to expire go first.
            self._db.execute(
                "DELETE FROM blobs WHERE key IN (SELECT key FROM (SELECT key, SUM(length(data)) OVER "
                "(ORDER BY expires DESC) AS total FROM blobs) WHERE total > ?)",
                (self._blob_limit,),
            )
            self._db.execute("COMMIT")

    async def blob_get(self, key: str) -> bytes | None:
        with self._lock:
            row = self._db.execute(
                "SELECT data FROM blobs WHERE key = ? AND expires > ?", (key, time.time())
            ).fetchone()
        return bytes(row[0]) if row else None
