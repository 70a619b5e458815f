"""Where the harness keeps its state: one process's memory, an SQLite file the workers of one server share,
or a Redis server the replicas of a deployment share.

The backends offer a few storage primitives (backend.Backend); the harness's rules (journal order and
bound, fault matching, rate-limit windows) are written once above them, in harness/journal.py,
harness/fault_rules.py and harness/ratelimit.py.
"""

from __future__ import annotations

from images_emulator.harness.store.backend import Backend, LogMark, LogWrite, StoreUnavailable
from images_emulator.harness.store.open import StoreError, open_store, parse_store_url

__all__ = ["Backend", "LogMark", "LogWrite", "StoreError", "StoreUnavailable", "open_store", "parse_store_url"]
