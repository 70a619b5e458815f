"""Small JSON bodies seen lately, by their bytes: the Job they validated to and their journal summary.

Test suites send the same request again and again. A repeated body skips its JSON parse, its
validation and its journal summary, so a cached generation costs little more than a bare app's
answer. Only bodies that validated are kept (a refusal is computed again), keyed by the API date
too; the memo is bounded in entries and in the size of a body.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from images_emulator.contract.job import Job
from images_emulator.harness.body_capture import json_summary

MAX_ENTRIES = 256
MAX_BODY_BYTES = 4096


@dataclass(frozen=True)
class KnownBody:
    document: Mapping[str, Any]  # the parsed body (never mutated)
    job: Job
    summary: Any  # what the journal records as its body


class KnownBodies:
    """A bounded LRU of (body bytes, API date) → KnownBody."""

    def __init__(self, entries: int = MAX_ENTRIES) -> None:
        self.entries = entries
        self._known: OrderedDict[tuple[bytes, date], KnownBody] = OrderedDict()

    def get(self, raw: bytes, day: date) -> KnownBody | None:
        """What `raw` validated to on `day`, if it was seen lately."""
        known = self._known.get((raw, day))
        if known is not None:
            self._known.move_to_end((raw, day))
        return known

    def put(self, raw: bytes, day: date, document: Mapping[str, Any], job: Job) -> None:
        """Remember that `raw` (parsed: `document`) validated to `job` on `day` (small bodies only)."""
        if len(raw) <= MAX_BODY_BYTES:
            self._known[(raw, day)] = KnownBody(document, job, json_summary(document))
            if len(self._known) > self.entries:
                self._known.popitem(last=False)
